"""`trial simulate`: a synthetic cohort through the real workflows, in skipped protocol time.

Exit codes: 0 every chain verifies and every subject ended where its plan said; 1 otherwise.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from simulation.plan import SubjectPlan
from simulation.progress import ProgressLog
from simulation.report import SimulationReport
from simulation.runner import SUBJECTS_PER_SERVER, SimulationConfig, run_simulation
from simulation.safety_figures import SafetyFigures
from system.collector import tune_collector
from system.config import load_settings

__all__ = ["EXIT_MISMATCH", "EXIT_OK", "render_summary", "simulate"]

EXIT_OK = 0
EXIT_MISMATCH = 1


def _line(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"


def _render_safety(s: SafetyFigures, console: Console) -> None:
    aes = Table(title="Adverse events by grade", title_justify="left", box=None)
    aes.add_column("event")
    for grade in range(1, 6):
        aes.add_column(f"G{grade}", justify="right")
    for label, counts in s.adverse_events.items():
        aes.add_row(label, *(str(counts.get(str(g), 0)) for g in range(1, 6)))
    console.print(aes)
    console.print(
        f"infused {s.subjects_infused}: CRS in {s.subjects_with_crs}, "
        f"ICANS in {s.subjects_with_icans}; DLTs flagged {s.dlts_flagged}, "
        f"DLT windows {_line(s.dlt_outcomes)}"
    )
    console.print(
        f"SAEs {s.serious}: reported on time {s.sae_reported_on_time}, late {s.sae_reported_late} "
        f"(marked overdue {s.sae_marked_overdue}), unreported {s.sae_unreported}; "
        f"monitoring days recorded {s.monitoring_recorded}, missed {s.monitoring_missed}"
    )


def render_summary(report: SimulationReport, console: Console) -> None:
    """The human summary: where subjects ended, what was written, whether it verifies."""
    f = report.figures
    console.print(
        f"[bold]{report.subjects} subjects[/] (seed {report.seed}), protocol time "
        f"{report.first_day} → {report.last_day}, store {report.store_url}"
    )
    facts = Table(show_header=False, box=None, padding=(0, 1))
    facts.add_column(style="bold")
    facts.add_column()
    for label, counts in (
        ("final phase", f.phases),
        ("disease", f.diseases),
        ("screen failures", f.screen_fail_causes),
        ("withdrawn while", f.withdrawal_phases),
        ("dose level", f.dose_levels),
        ("route", f.routes),
    ):
        facts.add_row(label, _line(counts))
    console.print(facts)
    responses = Table(title="Responses by visit", title_justify="left", box=None)
    responses.add_column("visit")
    for category in ("CR", "PR", "SD", "PD"):
        responses.add_column(category, justify="right")
    for code, counts in f.responses.items():
        responses.add_row(code, *(str(counts.get(k, 0)) for k in ("CR", "PR", "SD", "PD")))
    console.print(responses)
    console.print(
        f"visits completed {f.visits_completed}, missed {f.visits_missed} "
        f"(deviations opened {f.missed_visit_deviations}); "
        f"manufacturing failures {f.manufacturing_failures}"
    )
    _render_safety(f.safety, console)
    if f.custody is not None:
        k = f.custody
        console.print(
            f"chain of custody: {k.units} units, {k.handoffs} timeline entries, "
            f"{k.excursions} excursion(s), {k.quarantined} quarantined, "
            f"{k.out_of_spec_lots} out-of-spec lot(s) decided by the PI, bedside checks "
            f"passed {k.bedside_checks_passed} / failed {k.bedside_checks_failed}"
        )
        console.print(
            f"vein-to-vein time (collection to infusion, {k.vein_to_vein_subjects} subjects): "
            f"median {k.vein_to_vein_days_median} days "
            f"(min {k.vein_to_vein_days_min}, max {k.vein_to_vein_days_max})"
        )
    console.print(
        f"commands sent {report.commands_sent}, events written {report.events_written} "
        f"(store holds {report.store_events}), chains verified "
        f"{report.streams_verified}/{report.subjects}"
    )
    console.print(
        f"wall time {report.wall_seconds:.1f} s, driving {report.drive_seconds:.1f} s, "
        f"{report.events_per_second:.1f} events/s"
    )
    if report.cpu_seconds is not None:
        server = (
            f", test server {report.server_cpu_seconds:.1f} s"
            if report.server_cpu_seconds is not None
            else ""
        )
        console.print(f"CPU: driver and worker {report.cpu_seconds:.1f} s{server}")
    console.print(
        f"{report.years} year(s) of follow-up under protocol {report.protocol_version}: "
        f"{report.seconds_per_subject:.2f} s per subject"
    )
    for heading, lines in (
        ("Rejected commands", report.rejections),
        ("Chain breaks", report.chain_breaks),
        ("Not as planned", report.not_as_planned),
        ("Workflow state differs from replay", report.replay_mismatches),
    ):
        if lines:
            console.print(f"[bold red]{heading}:[/]")
            for line in lines:
                console.print(f"  {line}")
    console.print("[green]OK[/]" if report.ok else "[bold red]FAILED[/]")


async def _run(config: SimulationConfig, show_progress: bool, log_every: float) -> SimulationReport:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not show_progress,
    )
    task: TaskID | None = None
    log = ProgressLog(log_every, lambda line: typer.echo(line, err=True)) if log_every else None

    def planned(plans: Sequence[SubjectPlan]) -> None:
        nonlocal task
        total = sum(len(p.actions) for p in plans)
        task = progress.add_task("planning", total=total)

    def advanced(done: int, total: int, at: datetime) -> None:
        if task is not None:
            progress.update(task, completed=done, description=f"protocol day {at:%Y-%m-%d}")
        if log is not None:
            log(done, total, at)

    with progress:
        return await run_simulation(config, on_progress=advanced, on_plans=planned)


def simulate(
    subjects: Annotated[int, typer.Option("--subjects", "-n", min=1, help="Cohort size")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic cohort")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    store_url: Annotated[
        str | None,
        typer.Option(help="Event store URL (default: EVENT_STORE_URL, else .data/events.db)"),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Subjects whose commands are in flight at once")
    ] = 20,
    years: Annotated[
        int,
        typer.Option(
            min=1,
            max=15,
            help="Years of follow-up: 1 is the main study; more carries completers into "
            "long-term follow-up under protocol 2.0 (15: to its end)",
        ),
    ] = 1,
    subjects_per_server: Annotated[
        int,
        typer.Option(
            min=1,
            help="Subjects per time-skipping test server: a larger cohort runs on several "
            "servers at once (one server's cost per event grows with the events it has served)",
        ),
    ] = SUBJECTS_PER_SERVER,
    log_every: Annotated[
        float,
        typer.Option(
            min=0,
            help="Write a progress line to stderr every this many seconds (0: none); for "
            "long runs in the background, where the bar is not seen (and --json turns it off)",
        ),
    ] = 0,
) -> None:
    """Drive N synthetic subjects through the whole protocol on the time-skipping server."""
    # This process is the worker too, holding every open subject's cached run: with the
    # default thresholds the collector's full passes over them took 9 % of an 80-subject
    # run's CPU (8.6 s of 92 s; 0.8 s with the worker's thresholds). Put back afterwards for
    # a caller running the command inside its own process (the tests' CliRunner).
    thresholds = gc.get_threshold()
    tune_collector()
    config = SimulationConfig(
        subjects=subjects,
        seed=seed,
        store_url=store_url or load_settings().event_store_url,
        concurrency=concurrency,
        years=years,
        subjects_per_server=subjects_per_server,
    )
    try:
        report = asyncio.run(
            _run(config, show_progress=not as_json and not log_every, log_every=log_every)
        )
    finally:
        gc.set_threshold(*thresholds)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        render_summary(report, Console(highlight=False))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_MISMATCH)
