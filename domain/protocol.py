"""The protocol as validated data, loaded from a versioned TOML file under ``protocols/``."""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain import site_calendar
from domain.custody_protocol import CustodyRules
from domain.dlt_rules import DltException, ProlongedCytopenia
from domain.expedited import ExpeditedRules
from domain.prelymphodepletion import PreLymphodepletionRules
from domain.renal import RenalDosing
from domain.response import ResponseRules

__all__ = [
    "DEFAULT_PROTOCOL_VERSION",
    "PROTOCOLS_DIR",
    "AmendmentInfo",
    "DltRules",
    "DoseLevel",
    "EligibilityRules",
    "LtfuRules",
    "LtfuTimepoint",
    "LymphodepletionDrug",
    "LymphodepletionRegimen",
    "MonitoringRules",
    "Plausibility",
    "Protocol",
    "SafetyRules",
    "SiteCalendar",
    "VisitDefinition",
    "load_protocol",
    "load_protocol_file",
    "parse_protocol",
]

PROTOCOLS_DIR = Path(__file__).resolve().parent.parent / "protocols"
DEFAULT_PROTOCOL_VERSION = "1.0"

Disease = Literal["SLE", "SS", "SSc", "DM", "ANCA-AAV"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProtocolHeader(_Frozen):
    id: str
    version: str
    title: str
    diseases: tuple[Disease, ...]
    target_enrollment: int = Field(gt=0)
    screening_window_days: int = Field(gt=0)
    site_defaults: tuple[str, ...] = ()


class EligibilityRules(_Frozen):
    """Every threshold of inclusion 1–7 and exclusion 1–10.

    Inclusive unless the name ends in ``_exclusive``.
    """

    age_min: int
    age_max: int
    immunosuppressants_min: int
    immunosuppressant_months_min: int
    glucocorticoid_mg_per_day_min: float
    ecog_max: int
    sledai_min: int
    essdai_min: int
    mrss_min: int
    mrss_max: int
    dm_diagnosis_years_min: float
    bvas_min: int
    hemoglobin_g_per_l_min: float
    platelets_10e9_per_l_min: float
    lvef_percent_min: float
    egfr_min: float
    ast_uln_max: float
    alt_uln_max: float
    bilirubin_uln_max: float
    dlco_percent_min: float
    fvc_percent_min: float
    contraception_months_after_infusion: int
    infection_lookback_days: int
    gvhd_lookback_days: int
    gvhd_grade_max_exclusive: int
    live_vaccine_lookback_weeks: int
    other_trial_lookback_months: int


class DoseLevel(_Frozen):
    code: str
    min_tu_per_kg: float = Field(gt=0)
    max_tu_per_kg: float = Field(gt=0)

    @model_validator(mode="after")
    def _range_is_ordered(self) -> DoseLevel:
        if self.min_tu_per_kg > self.max_tu_per_kg:
            raise ValueError(f"dose level {self.code}: min_tu_per_kg exceeds max_tu_per_kg")
        return self


class Routes(_Frozen):
    allowed: tuple[str, ...]


class LymphodepletionDrug(_Frozen):
    drug: str
    mg_per_m2_per_day: float = Field(gt=0)
    days: tuple[int, ...]
    # Before dated renal results: a factor below a typed eGFR (exclusive). Kept so protocols
    # already carried by running workflows still load; new protocols use ``renal``.
    renal_adjust_below_egfr: float | None = None
    renal_adjust_factor: float | None = Field(default=None, gt=0, le=1)
    renal: RenalDosing | None = None
    # Caps applied after the per-m² dose: the BSA used for this drug, and the daily dose.
    max_bsa_m2: float | None = Field(default=None, gt=0)
    max_daily_mg: float | None = Field(default=None, gt=0)


class LymphodepletionRegimen(_Frozen):
    site_default: bool = False
    bsa_formula: Literal["mosteller"]
    bsa_decimals: int = Field(ge=0, le=4)
    dose_rounding_mg: float = Field(gt=0)
    drugs: tuple[LymphodepletionDrug, ...]
    # Shown with every plan while the regimen awaits the sponsor's written confirmation.
    sponsor_note: str | None = None

    @property
    def days(self) -> tuple[int, ...]:
        return tuple(sorted({d for drug in self.drugs for d in drug.days}))


class VisitDefinition(_Frozen):
    code: str
    label: str
    target_day: int = Field(ge=0)
    window_before_days: int = Field(ge=0)
    window_after_days: int = Field(ge=0)


LtfuKind = Literal["visit", "contact"]
ContactMode = Literal["visit", "phone", "questionnaire"]


class LtfuTimepoint(VisitDefinition):
    """One annual long-term follow-up timepoint, days counted from the infusion like visits."""

    # "visit": an examination in person; "contact": a visit, a phone call or a questionnaire.
    kind: LtfuKind = "visit"
    # Samples due at this timepoint (e.g. VCN: vector copy number, RCL: replication-competent
    # lentivirus).
    samples: tuple[str, ...] = ()
    # A main-study visit that, when done, already is this timepoint (Year 1 is Month 12).
    covered_by: str | None = None

    @property
    def modes(self) -> tuple[ContactMode, ...]:
        return ("visit",) if self.kind == "visit" else ("visit", "phone", "questionnaire")


class LtfuRules(_Frozen):
    """Long-term follow-up after the main study: its consent, timepoints and loss rule."""

    site_default: bool = False
    source: str
    consent_version: str = Field(min_length=1)
    # Days after the last main-study visit by which the LTFU consent decision is recorded;
    # without one the main study ends as completed and no LTFU follows.
    decision_days: int = Field(gt=0)
    # Consecutive documented contact attempts without reaching the subject before the
    # subject is lost to follow-up.
    contact_attempts_before_lost: int = Field(gt=0)
    delayed_ae_categories: tuple[str, ...]
    timepoints: tuple[LtfuTimepoint, ...]

    def timepoint(self, code: str) -> LtfuTimepoint | None:
        return next((t for t in self.timepoints if t.code == code), None)


class AmendmentInfo(_Frozen):
    """What makes this version an amendment of an earlier one."""

    number: int = Field(gt=0)
    previous_version: str
    summary: str
    # Subjects running under an earlier version must sign this version's consent form before
    # further protocol procedures (safety follow-up excepted).
    reconsent_required: bool = False
    reconsent_due_days: int = Field(default=30, gt=0)


class Reminders(_Frozen):
    days_before_window: int = Field(ge=0)


class SiteCalendar(_Frozen):
    weekend: tuple[int, ...] = (5, 6)
    holidays: tuple[date, ...] = ()
    # Official make-up working days that fall on a weekend (China's 调休).
    workdays: tuple[date, ...] = ()
    # The site's tz database zone: deadlines and visit days begin at its midnight.
    timezone: str = "UTC"
    # ISO country whose public holidays (``holidays`` package) are expanded into ``holidays``
    # and ``workdays`` for ``holiday_years`` when the protocol file is loaded.
    holiday_country: str | None = None
    holiday_years: tuple[int, int] | None = None

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    @model_validator(mode="after")
    def _zone_exists(self) -> SiteCalendar:
        try:
            site_calendar.zone(self.timezone)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"calendar.timezone {self.timezone!r} is not a known zone") from exc
        return self

    def expanded(self) -> SiteCalendar:
        """The calendar with the country's public holidays and make-up days filled in."""
        if self.holiday_country is None or self.holiday_years is None:
            return self
        days, workdays = site_calendar.public_calendar(self.holiday_country, *self.holiday_years)
        return self.model_copy(
            update={
                "holidays": tuple(sorted({*self.holidays, *days})),
                "workdays": tuple(sorted({*self.workdays, *workdays})),
            }
        )


class DltRules(_Frozen):
    """Which adverse events, with onset inside the DLT window, are dose-limiting toxicities."""

    crs_grade_min: int = Field(default=3, ge=1, le=5)
    icans_grade_min: int = Field(default=3, ge=1, le=5)
    # Any other non-haematologic AE related to JY231 at this grade or worse.
    related_non_haematologic_grade_min: int = Field(default=4, ge=1, le=5)
    # Any grade 5 AE related to JY231, haematologic or not.
    related_grade_5: bool = True
    # Attribution categories that count as "related".
    related_attributions: tuple[str, ...] = ("possible", "probable", "definite")
    # Terms exempt from the related non-haematologic rule unless they last too long.
    non_haematologic_exceptions: tuple[DltException, ...] = ()
    prolonged_cytopenia: ProlongedCytopenia | None = None


class SafetyRules(_Frozen):
    site_default: bool = False
    sae_report_hours: int = Field(gt=0)
    daily_monitoring_days: int = Field(ge=0)
    dlt_window_days: int = Field(gt=0)
    sentinel_stagger_days: int = Field(ge=0)
    dlt: DltRules = DltRules()


class Plausibility(_Frozen):
    """Dates outside these bounds are typing errors (a birth in 1900, a visit in year 1)."""

    site_default: bool = False
    # No clinical fact of the study can predate it; every visit, dose and report is after this.
    earliest_clinical_date: date = date(2024, 1, 1)
    earliest_birth_date: date = date(1900, 1, 1)


SdvLevel = Literal["none", "partial", "full"]


class MonitoringRules(_Frozen):
    """Queries and source data verification: how long the site has, what must be verified.

    ``sdv`` maps a case report form ("screening", "visit", "adverse_events", ...; a visit's
    form "visit:M1" falls back to "visit") to its requirement; unlisted forms need full SDV,
    the conservative default.
    """

    site_default: bool = False
    query_answer_days: int = Field(default=7, gt=0)
    sdv: dict[str, SdvLevel] = {}

    def sdv_level(self, form: str) -> SdvLevel:
        return self.sdv.get(form) or self.sdv.get(form.partition(":")[0]) or "full"


class Protocol(_Frozen):
    protocol: ProtocolHeader
    eligibility: EligibilityRules
    dose_levels: tuple[DoseLevel, ...]
    routes: Routes
    lymphodepletion: LymphodepletionRegimen
    visits: tuple[VisitDefinition, ...]
    reminders: Reminders
    calendar: SiteCalendar
    safety: SafetyRules
    # Re-checks before the first lymphodepletion dose; None keeps the typed weight and eGFR
    # of protocols written before dated results (workflows started under them replay).
    pre_lymphodepletion: PreLymphodepletionRules | None = None
    # SUSAR expectedness and clocks; None: no expedited reporting beyond the SAE report.
    expedited: ExpeditedRules | None = None
    # Optional so protocols in workflow inputs recorded before it still load.
    plausibility: Plausibility = Plausibility()
    # Long-term follow-up; protocols without it end participation at the last visit.
    ltfu: LtfuRules | None = None
    amendment: AmendmentInfo | None = None
    # Chain of identity and custody; None for protocol data written before it existed.
    custody: CustodyRules | None = None
    monitoring: MonitoringRules = MonitoringRules(site_default=True)
    # Disease activity at follow-up visits and the disease-specific responses; None keeps the
    # Cheson category alone at every visit, Day 0 included (protocols written before it).
    response: ResponseRules | None = None

    @property
    def version(self) -> str:
        return self.protocol.version

    def dose_level(self, code: str) -> DoseLevel:
        for level in self.dose_levels:
            if level.code == code:
                return level
        raise KeyError(code)

    def visit(self, code: str) -> VisitDefinition:
        for visit in self.visits:
            if visit.code == code:
                return visit
        raise KeyError(code)

    @model_validator(mode="after")
    def _visits_are_ordered(self) -> Protocol:
        days = [v.target_day for v in self.visits]
        if days != sorted(days) or len({v.code for v in self.visits}) != len(self.visits):
            raise ValueError("visits must have unique codes and ascending target days")
        if self.response is not None:
            if self.response.baseline_visit not in {v.code for v in self.visits}:
                raise ValueError(
                    f"response.baseline_visit {self.response.baseline_visit!r} is not a visit"
                )
            unmeasured = set(self.protocol.diseases) - {m.disease for m in self.response.measures}
            if unmeasured:
                raise ValueError(
                    f"response.measures names no measure for {', '.join(sorted(unmeasured))}"
                )
        return self


def parse_protocol(text: str) -> Protocol:
    """A protocol from its TOML text, with the site's public holidays filled in."""
    proto = Protocol.model_validate(tomllib.loads(text))
    return proto.model_copy(update={"calendar": proto.calendar.expanded()})


def load_protocol_file(path: Path) -> Protocol:
    return parse_protocol(path.read_text(encoding="utf-8"))


@cache
def load_protocol(version: str = DEFAULT_PROTOCOL_VERSION) -> Protocol:
    """Load a protocol version by its number; files are named ``NCT06243159-v<version>.toml``.

    Cached because protocol files are immutable once released; the workflow sandbox
    passes this module through so the read happens once per worker, outside workflow code.
    """
    for path in sorted(PROTOCOLS_DIR.glob("*.toml")):
        proto = load_protocol_file(path)
        if proto.version == version:
            return proto
    raise KeyError(f"no protocol with version {version!r} under {PROTOCOLS_DIR}")
