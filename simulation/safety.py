"""A seeded post-infusion safety course: daily monitoring, AEs with their grades, SAE reports.

Rates follow CAR-T-for-autoimmunity series: CRS in most infused subjects but rarely above
grade 2, ICANS in about one in ten, and the cytopenias and infections lymphodepletion brings.
CRS and ICANS are recorded as the components staff observe; the domain computes the grade.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from domain import commands as c
from domain.grading import (
    Consciousness,
    CrsComponents,
    Hypotension,
    Hypoxia,
    IcansComponents,
)
from domain.safety import AeKind, Relatedness, Seriousness
from simulation.plan import Action
from simulation.site import SITE_ZONE
from simulation.staff import COORDINATOR, INVESTIGATOR

__all__ = ["AeSpec", "SafetyCourse", "SafetyProfile", "draw_profile", "plan_safety", "with_rare"]

_ROUNDS = time(9, 0, tzinfo=SITE_ZONE)
# The evening round writes the day's maximum temperature, once the day is nearly over.
_EVENING = time(20, 0, tzinfo=SITE_ZONE)
_RECIPIENT = "sponsor pharmacovigilance, IRB and NMPA"
_ON_TIME_HOURS = (2, 20)
_LATE_HOURS = (28, 60)
_LATE_REPORT = 0.08
_MISSED_DAY = 0.03


@dataclass(frozen=True, slots=True)
class AeSpec:
    """One AE as it will unfold; ``grade`` is the worst reached, days count from infusion."""

    kind: AeKind
    term: str | None
    onset_day: int
    lasts_days: int
    grade: int
    related_to_jy231: Relatedness
    related_to_lymphodepletion: Relatedness
    report_after_hours: int
    haematologic: bool = False


@dataclass(frozen=True, slots=True)
class SafetyProfile:
    adverse_events: tuple[AeSpec, ...]
    missed_days: frozenset[int]


@dataclass(frozen=True, slots=True)
class SafetyCourse:
    """Dated commands plus what the workflow must conclude from them."""

    actions: tuple[Action, ...]
    missed_days: tuple[int, ...]
    # AE ids (as the domain numbers them) whose report comes after the 24 h clock has run out.
    overdue_ae_ids: tuple[str, ...]


def _report_delay(rng: random.Random) -> int:
    if rng.random() < _LATE_REPORT:
        return rng.randint(*_LATE_HOURS)
    return rng.randint(*_ON_TIME_HOURS)


def _pick(rng: random.Random, weights: dict[int, float]) -> int:
    return rng.choices(list(weights), list(weights.values()))[0]


def draw_profile(rng: random.Random, monitoring_days: int) -> SafetyProfile:
    aes: list[AeSpec] = []
    crs = rng.random() < 0.60
    if crs:
        grade = _pick(rng, {1: 0.72, 2: 0.24, 3: 0.04})
        aes.append(
            AeSpec(
                kind="CRS",
                term=None,
                onset_day=_pick(rng, {1: 0.25, 2: 0.30, 3: 0.25, 4: 0.12, 5: 0.08}),
                # An escalating CRS needs a day to be recognised and a day to be treated.
                lasts_days=rng.randint(3 if grade > 1 else 2, 7),
                grade=grade,
                related_to_jy231="definite",
                related_to_lymphodepletion="unlikely",
                report_after_hours=_report_delay(rng),
            )
        )
    # ICANS follows CRS far more often than it appears alone; ~10 % overall.
    if rng.random() < (0.15 if crs else 0.025):
        aes.append(
            AeSpec(
                kind="ICANS",
                term=None,
                onset_day=rng.randint(3, 8),
                lasts_days=rng.randint(1, 5),
                grade=_pick(rng, {1: 0.6, 2: 0.3, 3: 0.1}),
                related_to_jy231="probable",
                related_to_lymphodepletion="unlikely",
                report_after_hours=_report_delay(rng),
            )
        )
    if rng.random() < 0.25:
        aes.append(
            AeSpec(
                kind="general",
                term="Neutrophil count decreased",
                onset_day=rng.randint(1, 7),
                lasts_days=rng.randint(5, 21),
                grade=_pick(rng, {2: 0.5, 3: 0.35, 4: 0.15}),
                related_to_jy231="possible",
                related_to_lymphodepletion="probable",
                report_after_hours=_report_delay(rng),
                haematologic=True,
            )
        )
    if rng.random() < 0.12:
        aes.append(_infection(rng, grade=_pick(rng, {2: 0.7, 3: 0.3})))
    if rng.random() < 0.20:
        aes.append(
            AeSpec(
                kind="general",
                term="Fatigue",
                onset_day=rng.randint(1, 10),
                lasts_days=rng.randint(3, 14),
                grade=_pick(rng, {1: 0.8, 2: 0.2}),
                related_to_jy231="probable",
                related_to_lymphodepletion="possible",
                report_after_hours=_report_delay(rng),
            )
        )
    missed = frozenset(d for d in range(1, monitoring_days + 1) if rng.random() < _MISSED_DAY)
    return SafetyProfile(adverse_events=tuple(aes), missed_days=missed)


def _infection(rng: random.Random, *, grade: int, report_after_hours: int | None = None) -> AeSpec:
    return AeSpec(
        kind="general",
        term=rng.choice(
            ("Upper respiratory infection", "Urinary tract infection", "Lung infection")
        ),
        onset_day=rng.randint(5, 28),
        lasts_days=rng.randint(5, 14),
        grade=grade,
        related_to_jy231="possible",
        related_to_lymphodepletion="possible",
        report_after_hours=report_after_hours or _report_delay(rng),
    )


def with_rare(profile: SafetyProfile, rng: random.Random) -> SafetyProfile:
    """The same course plus the paths a small cohort may not draw: CRS, a late SAE, a missed day.

    The late SAE is a grade 3 infection: serious, yet below every DLT rule, so forcing it does
    not change the DLT figures the cohort is meant to show.
    """
    aes = list(profile.adverse_events)
    if not any(a.kind == "CRS" for a in aes):
        aes.insert(
            0,
            AeSpec(
                kind="CRS",
                term=None,
                onset_day=2,
                lasts_days=4,
                grade=2,
                related_to_jy231="definite",
                related_to_lymphodepletion="unlikely",
                report_after_hours=_ON_TIME_HOURS[0],
            ),
        )
    aes.append(_infection(rng, grade=3, report_after_hours=_LATE_HOURS[1]))
    return replace(
        profile, adverse_events=tuple(aes), missed_days=profile.missed_days or frozenset({5})
    )


def _at(day: date, moment: time = _ROUNDS) -> datetime:
    return datetime.combine(day, moment)


def _seriousness(spec: AeSpec) -> tuple[Seriousness, ...]:
    if spec.grade < 3:
        return ()
    # Infections and CRS prolong the post-infusion admission; the rest is medically important.
    if spec.kind == "CRS" or (spec.term or "").endswith("infection"):
        return ("hospitalisation",)
    return ("important_medical_event",)


def _crs(grade: int, rng: random.Random) -> CrsComponents:
    if grade == 1:
        return CrsComponents(max_temperature_c=round(rng.uniform(38.1, 39.5), 1))
    # Tocilizumab was given before the escalation was recorded, so fever no longer counts.
    if grade == 2:
        shock = rng.random() < 0.5
        return CrsComponents(
            max_temperature_c=round(rng.uniform(37.2, 38.4), 1),
            fever_masked_by_treatment=True,
            hypotension=Hypotension.NO_VASOPRESSOR if shock else Hypotension.NONE,
            hypoxia=Hypoxia.NONE if shock else Hypoxia.LOW_FLOW,
        )
    return CrsComponents(
        max_temperature_c=round(rng.uniform(37.2, 38.6), 1),
        fever_masked_by_treatment=True,
        hypotension=Hypotension.ONE_VASOPRESSOR,
        hypoxia=Hypoxia.LOW_FLOW,
    )


def _ice_score(grade: int, rng: random.Random) -> int:
    return {1: rng.randint(7, 9), 2: rng.randint(3, 6)}.get(grade, rng.randint(1, 2))


def _icans(ice: int, grade: int) -> IcansComponents:
    awake = Consciousness.AWAKENS_TO_VOICE if grade >= 2 else Consciousness.AWAKENS_SPONTANEOUSLY
    return IcansComponents(ice_score=ice, consciousness=awake)


@dataclass
class _Course:
    subject_id: str
    infusion: date
    rng: random.Random
    actions: list[Action]
    overdue: list[str]

    def send(self, at: datetime, command: c.Command) -> None:
        self.actions.append(Action(at, self.subject_id, INVESTIGATOR, command))

    def serious(self, ae_id: str, since: datetime, spec: AeSpec) -> None:
        reported = since + timedelta(hours=spec.report_after_hours)
        if spec.report_after_hours > 24:
            self.overdue.append(ae_id)
        self.actions.append(
            Action(
                reported,
                self.subject_id,
                COORDINATOR,
                c.ReportSae(
                    occurred_at=reported,
                    ae_id=ae_id,
                    reported_at=reported,
                    recipient=_RECIPIENT,
                    reference=f"SAE-{ae_id}",
                ),
            )
        )

    def adverse_event(self, number: int, spec: AeSpec, ice_scores: tuple[int, ...]) -> None:
        ae_id = f"{self.subject_id}-AE-{number}"
        onset = self.infusion + timedelta(days=spec.onset_day)
        aware = _at(onset + timedelta(days=1))
        # A CRS is recognised on fever (grade 1) and escalates under observation the next day.
        escalates = spec.kind == "CRS" and spec.grade > 1
        first_crs = _crs(1, self.rng) if spec.kind == "CRS" else None
        icans = _icans(ice_scores[0], spec.grade) if spec.kind == "ICANS" else None
        self.send(
            aware,
            c.RecordAdverseEvent(
                occurred_at=aware,
                kind=spec.kind,
                term=spec.term,
                grade=spec.grade if spec.kind == "general" else None,
                crs=first_crs,
                icans=icans,
                onset_on=onset,
                seriousness=() if escalates else _seriousness(spec),
                related_to_jy231=spec.related_to_jy231,
                related_to_lymphodepletion=spec.related_to_lymphodepletion,
                haematologic=spec.haematologic,
            ),
        )
        if escalates:
            worse = aware + timedelta(days=1)
            self.send(
                worse,
                c.UpdateAdverseEvent(
                    occurred_at=worse,
                    ae_id=ae_id,
                    crs=_crs(spec.grade, self.rng),
                    seriousness=_seriousness(spec) or None,
                ),
            )
            if _seriousness(spec):
                self.serious(ae_id, worse, spec)
        elif _seriousness(spec):
            self.serious(ae_id, aware, spec)
        resolved_on = onset + timedelta(days=spec.lasts_days)
        self.send(
            _at(resolved_on + timedelta(days=1)),
            c.ResolveAdverseEvent(
                occurred_at=_at(resolved_on + timedelta(days=1)),
                ae_id=ae_id,
                resolved_on=resolved_on,
            ),
        )


def _febrile(spec: AeSpec, day: int) -> bool:
    if not spec.onset_day <= day < spec.onset_day + spec.lasts_days:
        return False
    if spec.kind == "CRS":
        # Treatment of an escalating CRS (from its second day) masks the fever.
        return spec.grade == 1 or day < spec.onset_day + 2
    return (spec.term or "").endswith("infection")


def plan_safety(
    subject_id: str,
    infusion: date,
    profile: SafetyProfile,
    monitoring_days: int,
    rng: random.Random,
) -> SafetyCourse:
    """The monitoring records and AE commands of one infused subject, with what they imply."""
    course = _Course(subject_id, infusion, rng, [], [])
    ice_by_spec = {
        i: tuple(_ice_score(s.grade, rng) for _ in range(s.lasts_days))
        for i, s in enumerate(profile.adverse_events)
        if s.kind == "ICANS"
    }
    # The domain numbers AEs in the order it records them, so number them in that order here.
    order = sorted(
        range(len(profile.adverse_events)), key=lambda i: (profile.adverse_events[i].onset_day, i)
    )
    for number, i in enumerate(order, start=1):
        course.adverse_event(number, profile.adverse_events[i], ice_by_spec.get(i, ()))
    for day in range(1, monitoring_days + 1):
        if day in profile.missed_days:
            continue
        febrile = any(_febrile(s, day) for s in profile.adverse_events)
        temperature = rng.uniform(38.1, 39.6) if febrile else rng.uniform(36.2, 37.4)
        ice = 10
        for i, scores in ice_by_spec.items():
            offset = day - profile.adverse_events[i].onset_day
            if 0 <= offset < len(scores):
                ice = min(ice, scores[offset])
        at = _at(infusion + timedelta(days=day), _EVENING)
        course.send(
            at,
            c.RecordDailyMonitoring(
                occurred_at=at, day=day, max_temperature_c=round(temperature, 1), ice_score=ice
            ),
        )
    return SafetyCourse(
        actions=tuple(course.actions),
        missed_days=tuple(sorted(profile.missed_days)),
        overdue_ae_ids=tuple(course.overdue),
    )
