"""Crash safety (slow): a SIGKILLed server loses no essay it has receipted.

Runs bench/crash_test.py: the real ``citizenvoice serve`` on a temporary data directory, 300 concurrent
submissions through the real form, SIGKILL once 150 are receipted (with others in flight), restart,
the remaining submissions, then every receipted essay checked on its tracking page and, byte for byte,
in the database; ``PRAGMA integrity_check`` on the killed server's file and at the end.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "bench" / "crash_test.py"


def load_crash_test() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_test", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_test", module)
    spec.loader.exec_module(module)
    return module


def test_every_receipted_submission_survives_a_sigkill(tmp_path: Path) -> None:
    crash_test = load_crash_test()
    result = crash_test.run(tmp_path, submissions=300, concurrency=24)
    print(f"\ncrash test: {result.summary()}")
    assert result.killed, "the server was never killed: too few receipts arrived"
    assert result.receipted_before_kill >= 150
    assert result.receipted > result.receipted_before_kill, "the restarted server took no new submissions"
    assert result.missing == [], f"receipted but lost: {result.missing}"
    assert result.altered == [], f"receipted but changed: {result.altered}"
    assert result.found == result.receipted
    assert result.integrity_after_kill == "ok"
    assert result.integrity_at_end == "ok"
    assert result.server_errors == 0
    assert result.sent >= result.receipted
