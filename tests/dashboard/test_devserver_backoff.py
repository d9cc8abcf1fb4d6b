"""scripts/devserver.py restarts a dead child after a back-off that doubles with each quick death
(1, 2, 4 ... s) up to a maximum. The restart itself: tests/dashboard/test_devserver_restart.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "devserver.py"


def test_back_off_doubles_up_to_the_maximum() -> None:
    spec = importlib.util.spec_from_file_location("devserver_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    devserver = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = devserver  # (dataclasses look their module up there)
    spec.loader.exec_module(devserver)
    delays = [devserver.restart_delay(n) for n in range(1, 9)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert devserver.RESTART_MAX_SECONDS == 30
