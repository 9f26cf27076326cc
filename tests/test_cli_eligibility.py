"""`trial eligibility check` and `trial eligibility schema`, through the real `trial` app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.domain.factories import eligible_record_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, ["eligibility", *args])


def write(tmp_path: Path, data: Any, name: str = "record.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("disease", ["sle", "ss", "ssc", "dm", "anca-aav"])
def test_each_disease_example_is_eligible_and_exits_0(disease: str) -> None:
    result = run("check", str(EXAMPLES / f"screening-{disease}.json"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "eligible"


def test_screen_failure_example_exits_1_and_names_the_failed_criteria() -> None:
    result = run("check", str(EXAMPLES / "screening-failure.json"), "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["status"] == "not_eligible"
    assert body["eligible"] is False
    failed = {v["criterion"] for v in body["verdicts"] if v["verdict"] == "not_met"}
    assert failed == {"I3.SLE.sledai", "I5.platelets", "E6.live_vaccine"}


def test_human_output_is_a_table_of_verdicts_with_the_overall_status(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, eligible_record_json("SSc"))))
    assert result.exit_code == 0
    for text in (
        "I3.SSc.mrss",
        "E10.investigator_judgement",
        "met = the subject is NOT",
        "ELIGIBLE",
    ):
        assert text in result.stdout


def test_incomplete_record_exits_1_with_status_incomplete(tmp_path: Path) -> None:
    path = write(tmp_path, eligible_record_json("DM", ecog=None))
    result = run("check", str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "incomplete"
    human = run("check", str(path))
    assert "INCOMPLETE" in human.stdout
    assert "1 missing" in human.stdout


def test_json_output_carries_protocol_version_and_each_verdicts_rule(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, eligible_record_json())), "--json")
    body = json.loads(result.stdout)
    assert body["protocol_version"] == "1.0"
    hb = next(v for v in body["verdicts"] if v["criterion"] == "I5.hemoglobin")
    assert hb == {
        "criterion": "I5.hemoglobin",
        "verdict": "met",
        "rule": "hemoglobin ≥ 60 g/L",
        "value": "105 g/L",
        "reason": "hemoglobin 105 g/L is at least 60",
    }


def test_unknown_unit_exits_2_naming_the_field_and_accepted_units(tmp_path: Path) -> None:
    data = eligible_record_json(hemoglobin={"value": 9.5, "unit": "mg/dL"})
    result = run("check", str(write(tmp_path, data)))
    assert result.exit_code == 2
    assert "hemoglobin.unit" in result.output
    assert "accepted units: g/L, g/dL, mmol/L" in result.output
    assert "Traceback" not in result.output


def test_impossible_value_exits_2_naming_the_field_and_the_limit(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, eligible_record_json(lvef_percent=130))))
    assert result.exit_code == 2
    assert "lvef_percent" in result.output
    assert "less than or equal to 100" in result.output


def test_date_after_screening_exits_2_naming_the_field(tmp_path: Path) -> None:
    data = eligible_record_json(live_vaccine_last_date="2026-03-09")
    result = run("check", str(write(tmp_path, data)))
    assert result.exit_code == 2
    assert "live_vaccine_last_date" in result.output
    assert "after screening_date" in result.output


def test_unknown_and_missing_fields_exit_2(tmp_path: Path) -> None:
    data = eligible_record_json(hemoglobn=1)
    del data["sex"]
    result = run("check", str(write(tmp_path, data)))
    assert result.exit_code == 2
    assert "hemoglobn: unknown field" in result.output
    assert "sex: required field is missing" in result.output


def test_missing_file_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "absent.json"))
    assert result.exit_code == 2
    assert "file not found" in result.output
    assert "Traceback" not in result.output


def test_malformed_json_exits_2_with_the_position(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, '{"sex": "female",')))
    assert result.exit_code == 2
    assert "not valid JSON at line 1" in result.output


def test_json_that_is_not_an_object_exits_2(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, [1, 2])))
    assert result.exit_code == 2
    assert "expected a JSON object" in result.output


def test_unknown_protocol_version_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, eligible_record_json())
    result = run("check", str(path), "--protocol-version", "9.9")
    assert result.exit_code == 2
    assert "no protocol with version '9.9'" in result.output


def test_schema_prints_the_screening_record_json_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "ScreeningRecord"
    assert {"screening_date", "birth_date", "sex", "disease"} <= set(schema["required"])
    assert "hemoglobin" in schema["properties"]
    assert schema["additionalProperties"] is False
