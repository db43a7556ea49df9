"""Crash safety: kill the host mid-batch, start a new engine on the same database, and every
orchestration finishes exactly once; nothing is lost, claimed work is run again."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestrators.invoice import APPROVAL_EVENT, ORCHESTRATOR_NAME
from papyr.engine import EmbeddedEngine, EventType, utc_now
from papyr.engine.engine import _process_tag
from papyr.engine.store import EngineStore

HOST_SCRIPT = Path(__file__).with_name("engine_crash_host.py")
COUNT = 10
KILL_AFTER_LEDGER_LINES = 25


def _load_host() -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_crash_host", HOST_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ledger(workdir: Path) -> list[str]:
    path = workdir / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


def _run_host_until_killed(workdir: Path, repo_root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, str(HOST_SCRIPT), str(workdir), str(COUNT)], cwd=repo_root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_ledger(workdir)) < KILL_AFTER_LEDGER_LINES:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "the host made no progress"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (workdir / "finished").exists()


def test_killed_host_resumes_and_every_invoice_finishes_exactly_once(tmp_path: Path, repo_root: Path) -> None:
    host = _load_host()
    _run_host_until_killed(tmp_path, repo_root)
    exported_before = {p.stem for p in (tmp_path / "outbox").glob("*.json")}
    assert len(exported_before) < COUNT - 2  # the kill landed mid-batch

    engine = host.make_engine(tmp_path)  # recovers work the dead process had claimed
    try:
        ids = [f"invoice-{host.invoice_sha(n)}" for n in range(COUNT)]
        for instance_id in ids:  # the restarted host re-submits the batch: nothing is replaced
            assert not engine.start(ORCHESTRATOR_NAME, instance_id, {"document": {"sha256": "ignored"}})
        engine.run_until_idle(timeout_s=120)
        waiting = [s.instance_id for s in engine.list_instances(runtime_status="Running")]
        assert waiting == [f"invoice-{host.invoice_sha(n)}" for n in range(0, COUNT, host.APPROVAL_EVERY)]
        for instance_id in waiting:
            assert engine.raise_event(instance_id, APPROVAL_EVENT, {"decision": "approved", "by": "x"})
        engine.run_until_idle(timeout_s=120)

        statuses = {instance_id: engine.status(instance_id) for instance_id in ids}
        assert all(s is not None and s.runtime_status == "Completed" for s in statuses.values())
        assert {i: s.output["status"] for i, s in statuses.items()} == dict.fromkeys(ids, "exported")
        for instance_id in ids:
            _assert_history_completes_each_task_once(engine, instance_id)
    finally:
        engine.close()

    outbox = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert outbox == sorted(f"{host.invoice_sha(n)}.json" for n in range(COUNT))  # once each, no leftovers
    calls = Counter(line.split()[0] for line in _ledger(tmp_path))
    # at least once per invoice; a call cut short by the kill ran again (at most once more per worker)
    assert COUNT <= calls["export_invoice"] <= COUNT + 2
    assert COUNT <= calls["classify_document"] <= COUNT + 2


def _assert_history_completes_each_task_once(engine: EmbeddedEngine, instance_id: str) -> None:
    history = engine.history(instance_id)
    scheduled = Counter(e.payload["task_id"] for e in history if e.event_type is EventType.TASK_SCHEDULED)
    completed = Counter(e.payload["task_id"] for e in history if e.event_type is EventType.TASK_COMPLETED)
    assert scheduled == completed and set(scheduled.values()) == {1}
    assert [e.event_type for e in history].count(EventType.EXECUTION_COMPLETED) == 1
    names = [e.payload["name"] for e in history if e.event_type is EventType.TASK_SCHEDULED]
    assert names.count("export_invoice") == 1


def test_work_claimed_by_a_dead_process_is_run_again_but_a_live_ones_is_not(tmp_path: Path) -> None:
    calls: list[Any] = []

    def echo(payload: Any) -> Any:
        calls.append(payload)
        return payload

    def orchestrator(context: Any) -> Any:
        return (yield context.call_activity("echo", "once"))

    db = tmp_path / "engine.sqlite3"
    first = EmbeddedEngine(db, {"o": orchestrator}, {"echo": echo})
    first.start("o", "claimed-1", None)
    first._run_episode("claimed-1")  # the orchestrator schedules the activity ...
    first.close()
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claim = f"{_process_tag(runner.pid)}:work"
        store = EngineStore(db)
        [item] = store.claim_work(1, claim, utc_now())  # ... and another process claims it

        second = EmbeddedEngine(db, {"o": orchestrator}, {"echo": echo}, recover=False)
        assert second.recover() == 0  # that process still runs: its work is its own
        assert store.claims() == [claim]
        runner.kill()
        runner.wait()
        assert second.recover() == 1  # now it is gone: the work runs again here
        second.run_until_idle(timeout_s=30)
        assert second.status("claimed-1").output == "once"
        assert calls == ["once"]
        # the dead runner's late result would be refused: the task has completed once already
        assert store.complete_work(item, claim, "late", None, utc_now()) == "stale"
        second.run_until_idle(timeout_s=30)
        assert [e.event_type for e in second.history("claimed-1")].count(EventType.TASK_COMPLETED) == 1
        second.close()
        store.close()
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def test_the_schema_is_created_idempotently_and_state_survives_reopening(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "engine.sqlite3"

    def orchestrator(context: Any) -> Any:
        return (yield context.wait_for_external_event("go"))

    with EmbeddedEngine(db, {"o": orchestrator}, {}) as engine:
        engine.start("o", "persist-1", {"x": 1})
        engine.run_until_idle(timeout_s=30)
    with EmbeddedEngine(db, {"o": orchestrator}, {}) as reopened:
        assert reopened.status("persist-1").runtime_status == "Running"
        reopened.raise_event("persist-1", "go", "went")
        reopened.run_until_idle(timeout_s=30)
        assert reopened.status("persist-1").output == "went"
