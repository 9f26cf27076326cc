"""`trial demo seed`: a small, realistic cohort put into the RUNNING system through its API.

Every command goes the way staff's would — REST API, gateway, the subject's workflow, its
validator and `decide`, the append activity — signed in as the demo users of each role, so the
seeded trial is indistinguishable from one a site entered. Dates are back-dated only where the
domain accepts it: consent, screening and collection days lie in the past, but lymphodepletion
cannot be planned with its first day already gone (a safety rule this demo does not bend), so
nobody is past lymphodepletion on the first day; `trial simulate` makes year-long histories.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer
from pydantic import BaseModel

from cli.api_client import ApiClient, Credentials
from cli.output import console, print_json
from cli.subject import SIGNED_TYPES
from domain import commands as c
from domain.measurements import (
    BloodCounts,
    Creatinine,
    InfectionAssessment,
    Measurement,
    PregnancyTest,
    Weight,
)
from domain.protocol import load_protocol
from domain.site_calendar import site_time
from domain.values import Disease, Sex
from simulation.records import screening_record

__all__ = ["DEMO_SUBJECTS", "app", "seed"]

app = typer.Typer(help="A demo cohort for a new installation.", no_args_is_help=True)

# The demo users of config/users.toml; a site with its own users passes theirs.
_DEMO_PASSWORDS = {
    "cora": "cora-demo-2024",
    "ivan": "ivan-demo-2024",
    "petra": "petra-demo-2024",
}


@dataclass(frozen=True, slots=True)
class DemoSubject:
    subject_id: str
    disease: Disease
    sex: Sex
    birth_date: date
    # How far along the course this subject is seeded (see _STEPS).
    reach: str
    # Days ago the subject consented: spreads the cohort over the last weeks.
    consented_days_ago: int


_STEPS = (
    "registered",
    "consented",
    "screened",
    "screen_failed",
    "eligible",
    "enrolled",
    "apheresis",
    "released",
    "lymphodepletion",
    "withdrawn",
)

DEMO_SUBJECTS: tuple[DemoSubject, ...] = (
    DemoSubject("SBH-D01", "SLE", "female", date(1988, 3, 14), "registered", 0),
    DemoSubject("SBH-D02", "SS", "female", date(1975, 9, 2), "consented", 2),
    DemoSubject("SBH-D03", "SSc", "male", date(1969, 12, 21), "screened", 6),
    DemoSubject("SBH-D04", "ANCA-AAV", "male", date(1961, 4, 30), "screen_failed", 12),
    DemoSubject("SBH-D05", "DM", "female", date(1983, 7, 8), "eligible", 14),
    DemoSubject("SBH-D06", "SLE", "female", date(1992, 1, 19), "enrolled", 18),
    DemoSubject("SBH-D07", "ANCA-AAV", "female", date(1979, 5, 27), "apheresis", 24),
    DemoSubject("SBH-D08", "SLE", "male", date(1985, 10, 11), "released", 26),
    DemoSubject("SBH-D09", "SS", "female", date(1990, 2, 3), "lymphodepletion", 27),
    DemoSubject("SBH-D10", "SSc", "female", date(1972, 8, 16), "withdrawn", 20),
)


def _body(command: BaseModel) -> dict[str, Any]:
    return command.model_dump(mode="json", exclude_none=True)


class _Site:
    """The demo users at work: one API client per role, commands dated by the wall clock."""

    def __init__(self, url: str | None, passwords: dict[str, str]) -> None:
        self._credentials: dict[int, tuple[str, str]] = {}

        def login(user: str) -> ApiClient:
            client = ApiClient(Credentials(user, passwords[user]), url)
            self._credentials[id(client)] = (user, passwords[user])
            return client

        self.coordinator = login("cora")
        self._coordinator_auth = ("cora", passwords["cora"])
        self.investigator = login("ivan")
        self.pi = login("petra")
        self.now = datetime.now(UTC)
        # The site's calendar day, as the workflows judge dates: from 16:00 UTC a site at UTC+8
        # is already on the next day (a UTC date then put D09's screening window past its end).
        self.today = site_time(self.now, load_protocol().calendar.timezone).date()

    def request_slot(self, subject_id: str, dose_level: str) -> None:
        """With study gating on, the sentinel's slot; without a study workflow (gating off)
        lymphodepletion needs none, and the 409 saying so is expected."""
        answer = httpx.post(
            f"{self.coordinator.base_url}/api/subjects/{subject_id}/slot",
            json={"dose_level": dose_level},
            auth=self._coordinator_auth,
            timeout=60,
        )
        if answer.status_code not in (200, 409):
            answer.raise_for_status()

    def send(self, staff: ApiClient, subject_id: str, command: c.Command) -> None:
        if command.type in SIGNED_TYPES:
            # An electronic signature: the demo user's id and password are re-entered.
            user, password = self._credentials[id(staff)]
            request = {"command": _body(command), "username": user, "password": password}
            staff.post(f"/api/subjects/{subject_id}/signatures", request)
            return
        staff.post(f"/api/subjects/{subject_id}/commands", _body(command))


def _reached(subject: DemoSubject, step: str) -> bool:
    if subject.reach == "withdrawn":
        return step in ("registered", "consented", "screened")
    if subject.reach == "screen_failed":
        return step in ("registered", "consented", "screened", "screen_failed")
    order = [s for s in _STEPS if s not in ("screen_failed", "withdrawn")]
    return order.index(step) <= order.index(subject.reach) if step in order else False


def _seed_one(site: _Site, subject: DemoSubject, rng: random.Random) -> None:
    now, today = site.now, site.today
    consented_on = today - timedelta(days=subject.consented_days_ago)
    sid = subject.subject_id
    site.coordinator.post(
        "/api/subjects",
        _body(
            c.RegisterSubject(
                occurred_at=now,
                subject_id=sid,
                disease=subject.disease,
                sex=subject.sex,
                birth_date=subject.birth_date,
            )
        ),
    )
    if not _reached(subject, "consented"):
        return
    wocbp = subject.sex == "female" and subject.birth_date.year > 1976
    site.send(
        site.coordinator,
        sid,
        c.SignConsent(
            occurred_at=now,
            consent_version="1.0",
            signed_on=consented_on,
            childbearing_potential=wocbp,
        ),
    )
    if not _reached(subject, "screened"):
        return
    failing = subject.reach == "screen_failed"
    record = screening_record(
        rng,
        disease=subject.disease,
        sex=subject.sex,
        birth_date=subject.birth_date,
        childbearing_potential=wocbp,
        screening_date=consented_on + timedelta(days=2),
        failure="low_hemoglobin" if failing else None,
    )
    site.send(site.coordinator, sid, c.RecordScreening(occurred_at=now, record=record))
    if subject.reach == "withdrawn":
        site.send(
            site.coordinator,
            sid,
            c.WithdrawConsent(
                occurred_at=now, withdrawn_on=today, reason="moved away; wishes to stop"
            ),
        )
        return
    if failing:
        site.send(site.pi, sid, c.SignEligibility(occurred_at=now, decision="not_eligible"))
        return
    if not _reached(subject, "eligible"):
        return
    site.send(site.pi, sid, c.SignEligibility(occurred_at=now, decision="eligible"))
    if not _reached(subject, "enrolled"):
        return
    site.send(
        site.investigator,
        sid,
        c.EnrollSubject(occurred_at=now, dose_level="DL1", route="intravenous"),
    )
    if not _reached(subject, "apheresis"):
        return
    collected = consented_on + timedelta(days=8)
    site.send(
        site.coordinator,
        sid,
        c.RecordApheresis(occurred_at=now, collected_on=collected, volume_ml=180),
    )
    if not _reached(subject, "released"):
        return
    site.send(
        site.coordinator,
        sid,
        c.RecordProductRelease(
            occurred_at=now,
            lot=f"JY231-{sid[-3:]}-01",
            released_on=min(today, collected + timedelta(days=16)),
            total_tu=4.5e8,
        ),
    )
    if not _reached(subject, "lymphodepletion"):
        return
    _lymphodepletion(site, sid, wocbp=subject.sex == "female" and subject.birth_date.year > 1976)


def _lymphodepletion(site: _Site, sid: str, *, wocbp: bool) -> None:
    """The sentinel of DL1: a slot from the study (when gating is on), today's re-checks, the
    plan with the infusion five days out, the PI's approval and the first day's doses."""
    site.request_slot(sid, "DL1")
    today = site.today
    rechecks: list[Measurement] = [
        Creatinine(collected_on=today, value=72, unit="umol/L"),
        Weight(collected_on=today, kg=62),
        InfectionAssessment(collected_on=today, active_infection_needing_systemic_treatment=False),
        BloodCounts(collected_on=today, hemoglobin_g_per_l=118, platelets_10e9_per_l=196),
    ]
    if wocbp:
        rechecks.append(PregnancyTest(collected_on=today, sample="urine", result="negative"))
    for measurement in rechecks:
        site.send(
            site.coordinator,
            sid,
            c.RecordMeasurement(occurred_at=site.now, measurement=measurement),
        )
    plan = c.PlanLymphodepletion(
        occurred_at=site.now, infusion_date=today + timedelta(days=5), height_cm=165
    )
    site.send(site.investigator, sid, plan)
    site.send(site.pi, sid, c.ApproveLymphodepletion(occurred_at=site.now))
    state = site.coordinator.get(f"/api/subjects/{sid}")
    doses = (state.get("ld_plan") or {}).get("doses") or []
    for dose in doses:
        if dose.get("day") == -5:
            site.send(
                site.coordinator,
                sid,
                c.RecordLymphodepletionDose(
                    occurred_at=site.now,
                    drug=dose["drug"],
                    day=-5,
                    mg=dose["mg"],
                    given_on=site.today,
                ),
            )
    site.send(
        site.coordinator,
        sid,
        c.RecordAdverseEvent(
            occurred_at=site.now,
            term="Nausea",
            grade=1,
            onset_on=site.today,
            related_to_jy231="unrelated",
            related_to_lymphodepletion="probable",
        ),
    )


def seed(
    url: str | None = None,
    passwords: dict[str, str] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Seed the demo cohort; subjects already on the board are left as they are."""
    # One line per subject is the progress to show, not one per HTTP request.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    site = _Site(url, passwords or _DEMO_PASSWORDS)
    existing = {row["subject_id"] for row in site.coordinator.get("/api/board")}
    rng = random.Random(231)
    seeded: list[str] = []
    for subject in DEMO_SUBJECTS:
        if subject.subject_id in existing:
            progress(f"{subject.subject_id} already there")
            continue
        _seed_one(site, subject, rng)
        seeded.append(subject.subject_id)
        progress(f"{subject.subject_id} seeded ({subject.reach.replace('_', ' ')})")
    return seeded


@app.command("seed")
def seed_command(
    url: Annotated[
        str | None, typer.Option("--url", help="The web app (default JY231_API_URL or :8000)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the seeded ids as JSON")] = False,
) -> None:
    """Put ten demo subjects, one at each stage up to lymphodepletion, into the running system
    (as the demo users cora, ivan and petra; JY231_DEMO_PASSWORDS=user:pw,... for others)."""
    passwords = dict(_DEMO_PASSWORDS)
    for pair in filter(None, os.environ.get("JY231_DEMO_PASSWORDS", "").split(",")):
        user, _, password = pair.partition(":")
        passwords[user.strip()] = password.strip()
    seeded = seed(url, passwords, progress=(lambda _: None) if as_json else console.print)
    if as_json:
        print_json({"seeded": seeded})
