"""scripts/run_tests.py (`make test`): a tier that collects nothing (pytest's exit 5) fails the
run, so that a renamed marker cannot leave a whole tier unrun while the run reports success."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_tests.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_tests_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(module: ModuleType, monkeypatch: pytest.MonkeyPatch, unit: int, service: int) -> list:
    """Lint and type checks pass; the unit tier exits `unit`, the service tier `service`."""
    calls: list[list[str]] = []

    def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
        calls.append(cmd)
        if Path(cmd[0]).name != "pytest":
            return 0
        return service if "integration or browser" in cmd else unit

    monkeypatch.setattr(module, "run", run)
    return calls


@pytest.mark.parametrize(
    "unit, service, expected_ok",
    [
        (0, 0, True),
        (5, 0, False),  # the unit tier collected nothing
        (0, 5, False),  # the integration/browser tier collected nothing
        (5, 5, False),
        (1, 0, False),
        (0, 1, False),
    ],
)
def test_a_tier_that_collects_nothing_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], unit, service, expected_ok
) -> None:
    module = load()
    monkeypatch.setattr(sys, "argv", ["run_tests.py"])
    calls = fake_run(module, monkeypatch, unit, service)
    code = module.main()
    assert (code == 0) is expected_ok, (unit, service, code)
    if unit in (0, 5):  # a unit tier that ran (or collected nothing) does not hide the other tier
        assert any("integration or browser" in c for c in calls)
    if 5 in (unit, service):
        assert "collected no tests" in capsys.readouterr().out


def test_with_arguments_one_empty_tier_is_allowed_but_not_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `make test ARGS="-k watch"` narrows the run on purpose: a tier without a match is fine,
    # a run where nothing at all matched is not.
    module = load()
    monkeypatch.setattr(sys, "argv", ["run_tests.py", "-k", "watch"])
    fake_run(module, monkeypatch, 5, 0)
    assert module.main() == 0
    fake_run(module, monkeypatch, 0, 5)
    assert module.main() == 0
    fake_run(module, monkeypatch, 5, 5)
    assert module.main() != 0
