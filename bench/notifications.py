"""Graph notifications against the local host: acknowledgement latency and notification-to-
orchestration-started latency (the issue's budget: 200 notifications/s, p99 ack < 3 s, p95 start < 2 s).

    .venv/bin/python -m bench.notifications [--rate 200] [--count 2000]

``papyr serve``'s Starlette app runs under uvicorn on 127.0.0.1 (a free port); an open-loop client
POSTs one Graph change notification per new message at a fixed rate; the mailbox drain loop runs
beside it as ``papyr serve`` runs it, against a provider fake in which each message is visible from
the moment its notification is sent. Each message carries its own small PDF, so each yields one new
document and one orchestration start; the engine's workers are not run (processing the documents is
not what is measured). Loopback only, bounded by ``--count``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "shared" / "mailboxes"))

from mailbox_fakes import FakeConnector, ManualClock

from papyr.host import build_local_host
from papyr.server import build_local_server
from shared.domain import utcnow
from shared.intake.pool import IntakePool
from shared.mailboxes.models import Mailbox, MailRules, Provider, Subscription
from shared.mailboxes.service import get_mailbox_service, run_forever

CLIENT_STATE = "bench-client-state-0123456789"


class RealClock(ManualClock):
    """The fake provider's clock, on the wall clock: a message is visible once its time has come."""

    @property  # type: ignore[override]
    def now(self) -> Any:
        return utcnow()

    @now.setter
    def now(self, value: Any) -> None:
        pass


class TimedClient:
    """The engine client, noting when each orchestration start returned."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.started: dict[str, float] = {}

    async def start(self, orchestrator: str, instance_id: str, payload: Any) -> str:
        result: str = await self.inner.start(orchestrator, instance_id, payload)
        self.started.setdefault(instance_id, time.time())
        return result

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        await self.inner.raise_event(instance_id, event, data)

    async def status(self, instance_id: str) -> Any:
        return await self.inner.status(instance_id)


def message(index: int) -> tuple[bytes, str]:
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
           b"% bench invoice " + str(index).encode() + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    import base64

    body = base64.encodebytes(pdf).decode()
    raw = (f"From: billing@vendor.example\r\nTo: ap@bench.example\r\nSubject: Invoice {index}\r\n"
           f"Message-ID: <bench-{index}@vendor.example>\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           f"--b\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n"
           f"--b\r\nContent-Type: application/pdf; name=inv-{index}.pdf\r\nContent-Disposition: attachment; "
           f"filename=inv-{index}.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}--b--\r\n").encode()
    return raw, "invoice-" + hashlib.sha256(pdf).hexdigest()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else values[0]


def load_process(port: int, rate: float, count: int, start_at: float, results: Any) -> None:
    """The Graph side, in its own process: POST notification i at ``start_at + i / rate`` (epoch s)."""
    sent: dict[str, float] = {}
    acks: list[float] = []
    statuses: dict[int, int] = {}
    asyncio.run(load(port, rate, count, start_at, sent, acks, statuses))
    results.put((sent, acks, statuses))


async def load(port: int, rate: float, count: int, start_at: float,
               sent: dict[str, float], acks: list[float], statuses: dict[int, int]) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                 limits=httpx.Limits(max_connections=256)) as client:
        async def one(index: int) -> None:
            _, instance = message(index)
            body = json.dumps({"value": [{
                "subscriptionId": "sub-bench", "clientState": CLIENT_STATE, "changeType": "created",
                "resource": f"Users/ap/Messages/m{index}", "tenantId": "t",
                "resourceData": {"id": f"m{index}"}}]}).encode()
            begin = time.perf_counter()
            sent[instance] = time.time()
            response = await client.post("/api/notifications/graph", content=body,
                                         headers={"content-type": "application/json"})
            acks.append(time.perf_counter() - begin)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        tasks = []
        for index in range(count):
            delay = start_at + index / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        local = build_local_host(Path(tmp) / "papyr")
        service = get_mailbox_service(local.services)
        service.intake_pool = IntakePool(local.settings)  # as papyr serve runs it
        service.registry.add(Mailbox(id="mb-bench", provider=Provider.OUTLOOK, address="ap@bench.example",
                                     created_at=utcnow(), rules=MailRules(folders=["Inbox"])))
        service.registry.save_subscription(Subscription(
            mailbox_id="mb-bench", id="sub-bench", resource="Users/ap/Messages", folder="Inbox",
            expires_at=utcnow().replace(year=utcnow().year + 1), client_state=CLIENT_STATE))
        clock = RealClock()
        connector = FakeConnector(clock, page_size=200)
        timed = TimedClient(local.client)
        port = free_port()
        server = build_local_server(local, port=port, run_engine=False, log_level="warning")
        serving = threading.Thread(target=server.run, daemon=True)
        serving.start()
        while not server.started:
            time.sleep(0.05)
        stop = threading.Event()
        worker = threading.Thread(target=run_forever, args=(service, {Provider.OUTLOOK: connector}, timed, stop),
                                  kwargs={"idle_wait_s": 0.05}, daemon=True)
        worker.start()

        start_at = time.time() + 1.0
        for index in range(args.count):  # each message is visible from the moment Graph notifies it
            connector.deliver(f"m{index}", message(index)[0], datetime.fromtimestamp(start_at + index / args.rate, UTC))
        results: Any = multiprocessing.Queue()
        graph = multiprocessing.Process(target=load_process, args=(port, args.rate, args.count, start_at, results))
        graph.start()
        sent, acks, statuses = results.get()
        graph.join()
        offered = max(sent.values()) - start_at
        deadline = time.perf_counter() + 60
        while len(timed.started) < len(sent) and time.perf_counter() < deadline:
            time.sleep(0.1)
        stop.set()
        worker.join(10)
        server.should_exit = True
        serving.join(10)
        local.engine.close()

    to_start = [timed.started[i] - sent[i] for i in sent if i in timed.started]
    print(f"notifications: {len(acks)} at {args.count / max(offered, 1e-9):.0f}/s offered (target {args.rate:.0f}/s); "
          f"statuses {statuses}")
    print(f"acknowledgement: p50 {pct(acks, 50) * 1000:.1f} ms, p99 {pct(acks, 99) * 1000:.1f} ms "
          f"(budget 3000 ms), max {max(acks) * 1000:.1f} ms")
    if to_start:
        print(f"notification -> orchestration started: {len(to_start)}/{len(sent)} started; "
              f"p50 {pct(to_start, 50) * 1000:.0f} ms, p95 {pct(to_start, 95) * 1000:.0f} ms (budget 2000 ms), "
              f"max {max(to_start) * 1000:.0f} ms")
    else:
        print("notification -> orchestration started: none started")


if __name__ == "__main__":
    main()
