"""The language of a command-line process, from its locale environment as gettext reads it:
LANGUAGE, then LC_ALL, LC_MESSAGES, LANG (`LANG=zh_CN.UTF-8` gives zh-hans). Management commands
that talk to people (`manage.py kuscia`) activate it; "C", "POSIX" or a language the console
does not have gives LANGUAGE_CODE."""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.conf import settings
from django.utils.translation import get_supported_language_variant, to_language


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        for candidate in value.split(":"):  # LANGUAGE may list several: zh_CN:en
            code = candidate.split(".")[0].split("@")[0].strip()
            if not code or code in ("C", "POSIX"):
                continue
            try:
                return get_supported_language_variant(to_language(code))
            except LookupError:
                continue
        if value:
            break  # the first variable set decides, as in gettext (LANGUAGE aside)
    return str(settings.LANGUAGE_CODE)
