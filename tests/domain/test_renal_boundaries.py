"""Planning at the renal band edges from a dated creatinine (Cockcroft–Gault), in both label
conventions the protocol file can state: 29.9 / 30 / 69.9 / 70 / 70.1 mL/min.

The band tables themselves are tested in test_renal.py; here the clearance comes from a
creatinine result through ``decide``, so units, the flooring to 0.1 mL/min, the same-day
"lower of two results" rule and the refusal below 30 are all on the path.
"""

from __future__ import annotations

import pytest

from domain import commands as c
from domain.errors import ValueOutOfRange
from domain.measurements import Creatinine
from domain.protocol import Protocol, load_protocol
from domain.renal import RenalBand, RenalDosing
from tests.domain.journey import COORDINATOR, INVESTIGATOR, Journey

FLUDARA = load_protocol()
US_LABEL = RenalDosing(
    convention="us_label",
    source="fludarabine phosphate injection USP, US label: CrCl 30-70 mL/min reduce by 20 %",
    do_not_give_below=30.0,
    bands=(RenalBand(low=30.0, high=70.0, high_inclusive=True, factor=0.8),),
)


def _with_renal(protocol: Protocol, renal: RenalDosing) -> Protocol:
    drugs = tuple(
        d.model_copy(update={"renal": renal}) if d.renal is not None else d
        for d in protocol.lymphodepletion.drugs
    )
    ld = protocol.lymphodepletion.model_copy(update={"drugs": drugs})
    return protocol.model_copy(update={"lymphodepletion": ld})


CONVENTIONS = {"fludara_label": FLUDARA, "us_label": _with_renal(FLUDARA, US_LABEL)}

# The factories' woman, 45 on the collection day, 60 kg: (140 − 45) × 60 × 0.85 / (72 × Scr),
# Scr in mg/dL = µmol/L / 88.42, floored to 0.1 mL/min. These creatinines land on each edge.
EDGES = [
    (198.4, "umol/L", 29.9),
    (2.25, "mg/dL", 29.9),
    (198.0, "umol/L", 30.0),
    (2.24, "mg/dL", 30.0),
    (85.0, "umol/L", 69.9),
    (84.9, "umol/L", 70.0),
    (0.96, "mg/dL", 70.0),
    (84.8, "umol/L", 70.1),
]
# BSA 1.66 (60 kg, 165 cm) × 30 mg/m² = 49.8 mg: full 49, ×0.8 39, ×0.6 29 (rounded down).
FLUDARABINE_MG = {
    "fludara_label": {30.0: 29.0, 69.9: 39.0, 70.0: 39.0, 70.1: 39.0},
    "us_label": {30.0: 39.0, 69.9: 39.0, 70.0: 39.0, 70.1: 49.0},
}


def _plan_with_creatinine(protocol: Protocol, value: float, unit: str) -> Journey:
    j = Journey(protocol)
    j.to_phase("awaiting_product")
    j.prechecks()  # includes creatinine 70 µmol/L (85 mL/min); the lower same-day result rules
    creatinine = Creatinine(collected_on=j.today, value=value, unit=unit)  # type: ignore[arg-type]
    j.send(COORDINATOR, c.RecordMeasurement(occurred_at=j.now, measurement=creatinine))
    return j


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize(("value", "unit", "clearance"), EDGES)
def test_creatinine_clearance_at_each_edge_doses_fludarabine_by_the_conventions_band(
    convention: str, value: float, unit: str, clearance: float
) -> None:
    j = _plan_with_creatinine(CONVENTIONS[convention], value, unit)
    plan = j.plan()
    if clearance < 30:
        count = len(j.events)
        with pytest.raises(ValueOutOfRange) as refused:
            j.send(INVESTIGATOR, plan)
        assert refused.value.field == "renal"
        assert f"creatinine clearance {clearance:g} mL/min" in refused.value.message
        assert f"below 30: fludarabine must not be given ({convention})" in refused.value.message
        assert len(j.events) == count
        return
    j.send(INVESTIGATOR, plan)
    planned = j.state.ld_plan
    assert planned is not None and planned.renal is not None
    assert (planned.renal.method, planned.renal.value) == ("cockcroft_gault", clearance)
    assert planned.renal_rule is not None and planned.renal_rule.startswith(convention)
    fludarabine = {d.mg for d in planned.doses if d.drug == "fludarabine"}
    assert fludarabine == {FLUDARABINE_MG[convention][clearance]}
    # Cyclophosphamide is not renally dosed here: 1.66 × 300 = 498 mg at every clearance.
    assert {d.mg for d in planned.doses if d.drug == "cyclophosphamide"} == {498.0}
