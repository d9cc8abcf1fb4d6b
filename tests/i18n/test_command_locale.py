"""`manage.py kuscia` speaks the process locale's language (LANG=zh_CN.UTF-8)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from connections.process_locale import language_from_environment


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-hans"),
        ({"LANG": "zh_SG"}, "zh-hans"),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-hans"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, "zh-hans"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_environment(environ, language):
    assert language_from_environment(environ) == language


@pytest.mark.parametrize(
    ("lang", "step", "failed"),
    [
        ("zh_CN.UTF-8", "地址和端口", "检查失败于：地址和端口"),
        ("en_US.UTF-8", "Address and port", "check failed at: Address and port"),
    ],
)
def test_check_command_speaks_the_process_locale(monkeypatch, lang, step, failed):
    monkeypatch.setenv("LANG", lang)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    out = io.StringIO()
    with pytest.raises(CommandError) as err:
        call_command(
            "kuscia", "--url", "http://127.0.0.1:1", "--protocol", "NOTLS", "check", stdout=out
        )
    assert f"] {step}: " in out.getvalue()
    assert str(err.value).startswith(failed)


def _process_lang(monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    monkeypatch.setenv("LANG", lang)
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("lang", "said"),
    [("zh_CN.UTF-8", "请给出文件，或设置 KC_ALERTS_FILE。"),
     ("en_US.UTF-8", "Give a file, or set KC_ALERTS_FILE.")],
)  # fmt: skip
def test_alerts_provision_speaks_the_process_locale(monkeypatch, settings, lang, said):
    _process_lang(monkeypatch, lang)
    settings.KC_ALERTS_FILE = ""
    with pytest.raises(CommandError) as err:
        call_command("alerts_provision", "--check")
    assert str(err.value) == said


COMMANDS = {  # a failing call of each command -> (its start in Chinese, in English)
    ("network", "--connection", "nope", "nodes"): (
        "没有启用的连接 'nope'", "no enabled connection 'nope'"),
    ("track_job", "nope", "job-1"): ("没有名为 'nope' 的连接", "no connection named 'nope'"),
}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("args", list(COMMANDS), ids=[a[0] for a in COMMANDS])
@pytest.mark.parametrize("lang", ["zh_CN.UTF-8", "en_US.UTF-8"])
def test_commands_speak_the_process_locale(monkeypatch, args, lang):
    _process_lang(monkeypatch, lang)
    with pytest.raises(CommandError) as err:
        call_command(*args)
    zh, en = COMMANDS[args]
    assert str(err.value).startswith(zh if lang.startswith("zh") else en)
