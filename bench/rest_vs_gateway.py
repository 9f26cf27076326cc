"""Benchmark: one command through the REST API, through the gateway, and to a bare workflow.

    python bench/rest_vs_gateway.py [--clients 1,10,50] [--rounds 3] [--seconds 4]

One Temporal dev server, one worker process (the real workflows plus ``bare.BareWorkflow``), the
web app in its own uvicorn process as in production. Each client owns one subject and sends
corrections back to back for ``--seconds``: through ``POST /api/subjects/{id}/commands``
(HTTP Basic, as a script would), through ``SubjectGateway.submit`` in this process, and as the
same ``submit`` update to a bare workflow whose activity does one SQLite INSERT. Rounds
interleave the paths (the order rotates) so the machine's load hits all three alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from bare import BareInput, BareWorkflow
from corrections import correction
from setup_env import bench_converter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.actors import Actor, Role
from domain.protocol import load_protocol
from system.gateway import SubjectGateway

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
INVESTIGATOR = Actor(user_id="ivan", role=Role.INVESTIGATOR)
PASSWORD = "ivan-demo-2024"

Send = Callable[[int], Awaitable[None]]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Paths:
    """The three ways to send subject ``i`` its next command."""

    def __init__(self, client: Client, gateway: SubjectGateway, http: httpx.AsyncClient) -> None:
        self.client = client
        self.gateway = gateway
        self.http = http
        self.sex: dict[str, str] = {}

    def _next(self, subject_id: str) -> str:
        value = "male" if self.sex.get(subject_id, "female") == "female" else "female"
        self.sex[subject_id] = value
        return value

    async def register(self, subject_id: str) -> None:
        await self.gateway.register(
            c.RegisterSubject(
                occurred_at=datetime.now(UTC) - timedelta(minutes=1),
                subject_id=subject_id,
                disease="SLE",
                sex="female",
                birth_date=date(1980, 6, 15),
            ),
            COORDINATOR,
        )

    async def bare(self, i: int) -> None:
        handle = self.client.get_workflow_handle_for(BareWorkflow.run, f"bare-{RUN}-{i}")
        command = correction(self._next(f"bare-{i}"))
        await handle.execute_update(
            BareWorkflow.submit, c.Submission(command=command, actor=INVESTIGATOR)
        )

    async def gateway_path(self, i: int) -> None:
        subject = f"G{RUN}-{i}"
        await self.gateway.submit(subject, correction(self._next(subject)), INVESTIGATOR)

    async def rest(self, i: int) -> None:
        subject = f"R{RUN}-{i}"
        body = correction(self._next(subject)).model_dump(mode="json")
        response = await self.http.post(f"/api/subjects/{subject}/commands", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"REST {response.status_code}: {response.text[:200]}")


RUN = uuid.uuid4().hex[:6].upper()


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (every thread) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _processes() -> dict[str, int]:
    """This run's processes by role: the bench (client side), web, worker, Temporal server."""
    found = {"bench": os.getpid()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) != os.getpid():
            continue
        if "bench_worker.py" in cmdline:
            found["worker"] = int(entry.name)
        elif "uvicorn" in cmdline or "profiled_web.py" in cmdline:
            found["web"] = int(entry.name)
        elif "temporal" in cmdline:
            found["temporal"] = int(entry.name)
    return found


PROCESSES: dict[str, int] = {}


async def _cell(
    send: Send, clients: int, seconds: float
) -> tuple[int, list[float], dict[str, float]]:
    latencies: list[float] = []
    cpu_before = {name: _cpu_s(pid) for name, pid in PROCESSES.items()}
    stop = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await send(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    # CPU per command of each process: load-independent where rates are not.
    cpu = {
        name: (_cpu_s(pid) - cpu_before[name]) / max(1, len(latencies))
        for name, pid in PROCESSES.items()
    }
    return len(latencies), [len(latencies) / elapsed, *latencies], cpu


def _credentials(kind: str, data_dir: Path) -> tuple[tuple[str, str] | None, dict[str, str]]:
    """HTTP Basic, or a bearer token made as ``trial user token ivan`` makes one."""
    if kind == "bearer":
        try:
            from store.security import SecurityStore
        except ImportError:  # before API tokens existed
            return ("ivan", PASSWORD), {}
        security = SecurityStore(f"sqlite:///{data_dir / 'security.db'}")
        token = security.create_token("ivan", "investigator", "benchmark")
        security.close()
        return None, {"Authorization": f"Bearer {token}"}
    return ("ivan", PASSWORD), {}


async def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(base_url=url) as http:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the web app exited during start-up")
            try:
                await http.get("/login")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise RuntimeError("the web app did not start")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--auth", choices=("bearer", "basic"), default="bearer",
        help="bearer: an API token (what scripts should use); basic: the password every call",
    )  # fmt: skip
    parser.add_argument(
        "--profile-web", metavar="FILE", type=Path, default=None,
        help="run the web process under cProfile and write its profile here at the end",
    )  # fmt: skip
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"), data_converter=bench_converter()
    )
    tmp = Path(tempfile.mkdtemp(prefix="jy231-bench-rest-"))
    store_url = f"sqlite:///{tmp / 'events.db'}"
    bare_url = f"sqlite:///{tmp / 'bare.db'}"
    task_queue = f"bench-rest-{RUN.lower()}"
    address = env.client.service_client.config.target_host
    here = Path(__file__).resolve().parent
    worker = subprocess.Popen(
        [sys.executable, str(here / "bench_worker.py"), address, task_queue, store_url, bare_url],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    port = _free_port()
    if args.profile_web:
        command = [str(here / "profiled_web.py"), str(args.profile_web), str(port)]
    else:
        command = ["-m", "uvicorn", "web.main:app", "--port", str(port), "--log-level", "warning"]
    web = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "EVENT_STORE_URL": store_url,
            "JY231_TASK_QUEUE": task_queue,
            "JY231_STUDY_GATING": "0",
            "JY231_DATA_DIR": str(tmp),
            "LOG_FORMAT": "json",
        },
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        worker.stdout.readline()
        await _wait_http(f"http://127.0.0.1:{port}", web)
        gateway = SubjectGateway(env.client, task_queue, load_protocol())
        limits = httpx.Limits(max_connections=max(levels) + 10)
        auth, headers = _credentials(args.auth, tmp)
        print(f"REST authenticates with {'HTTP Basic' if auth else 'a bearer token'}")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            auth=auth,
            headers=headers,
            limits=limits,
            timeout=120,
        ) as http:
            paths = Paths(env.client, gateway, http)
            top = max(levels)
            await asyncio.gather(*(paths.register(f"G{RUN}-{i}") for i in range(top)))
            await asyncio.gather(*(paths.register(f"R{RUN}-{i}") for i in range(top)))
            for i in range(top):
                await env.client.start_workflow(
                    BareWorkflow.run,
                    BareInput(subject_id=f"bare-{i}"),
                    id=f"bare-{RUN}-{i}",
                    task_queue=task_queue,
                )
            named: dict[str, Send] = {
                "bare": paths.bare,
                "gateway": paths.gateway_path,
                "rest": paths.rest,
            }
            # Warm every path once (connections, module imports, first workflow tasks).
            for send in named.values():
                await send(0)
            results: dict[tuple[int, str], list[list[float]]] = {}
            cpu: dict[tuple[int, str], list[dict[str, float]]] = {}
            PROCESSES.update(_processes())
            order = list(named)
            for number in range(args.rounds):
                for clients in levels:
                    rotated = order[number % 3 :] + order[: number % 3]
                    for name in rotated:
                        _, figures, used = await _cell(named[name], clients, args.seconds)
                        results.setdefault((clients, name), []).append(figures)
                        cpu.setdefault((clients, name), []).append(used)
        _report(results, levels, args.rounds)
        _report_cpu(cpu, levels)
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)
        await env.shutdown()


def _ratio(rate: dict[str, list[float]], a: str, b: str) -> str:
    values = [x / y for x, y in zip(rate[a], rate[b], strict=True)]
    return f"{min(values):.2f}/{statistics.median(values):.2f}"


def _report(
    results: dict[tuple[int, str], list[list[float]]], levels: list[int], rounds: int
) -> None:
    print(f"REST vs gateway vs bare workflow, {rounds} interleaved rounds (rates: median)")
    print(
        f"{'clients':>7} {'bare/s':>8} {'gw/s':>8} {'rest/s':>8}  "
        f"{'gw/bare':>13} {'rest/gw':>13} {'rest/bare':>13}  p50 ms bare/gw/rest"
    )
    for clients in levels:
        rate = {n: [r[0] for r in results[(clients, n)]] for n in ("bare", "gateway", "rest")}
        p50 = {
            n: statistics.median([x for r in results[(clients, n)] for x in r[1:]]) * 1000
            for n in rate
        }

        print(
            f"{clients:>7} {statistics.median(rate['bare']):8.1f} "
            f"{statistics.median(rate['gateway']):8.1f} {statistics.median(rate['rest']):8.1f}  "
            f"{_ratio(rate, 'gateway', 'bare'):>13} {_ratio(rate, 'rest', 'gateway'):>13} "
            f"{_ratio(rate, 'rest', 'bare'):>13}  "
            f"{p50['bare']:.0f}/{p50['gateway']:.0f}/{p50['rest']:.0f}"
        )
    print("ratios are min/median over the rounds")


def _report_cpu(cpu: dict[tuple[int, str], list[dict[str, float]]], levels: list[int]) -> None:
    """CPU ms per command by process, medians over the rounds; the ratio gateway/REST of the
    total is what the rate ratio would be on a machine whose cores were all busy."""
    names = [n for n in ("bench", "web", "worker", "temporal") if n in PROCESSES]
    print("CPU ms per command by process (median over rounds; bench = the clients' process)")
    print(f"{'clients':>7} {'path':>8} " + " ".join(f"{n:>9}" for n in names) + f" {'total':>9}")
    for clients in levels:
        totals: dict[str, list[float]] = {}
        for path in ("gateway", "rest"):
            rounds = cpu[(clients, path)]
            totals[path] = [sum(r.values()) * 1000 for r in rounds]
            cells = " ".join(
                f"{statistics.median(r[n] for r in rounds) * 1000:9.2f}" for n in names
            )
            print(f"{clients:>7} {path:>8} {cells} {statistics.median(totals[path]):9.2f}")
        ratios = [g / r for g, r in zip(totals["gateway"], totals["rest"], strict=True)]
        print(
            f"{clients:>7} {'gw/rest':>8} total CPU per command, min/median "
            f"{min(ratios):.2f}/{statistics.median(ratios):.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
