"""No poison values: every command model refuses non-finite numbers, control and bidi characters
in the field that holds them, and implausible dates, before anything is decided."""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain import commands as c
from domain.actors import Actor, Role
from domain.errors import ValueOutOfRange
from domain.inputs import InputModel, unsafe_value
from domain.protocol import Protocol, load_protocol
from domain.state import SubjectState
from domain.subject import decide

COMMAND_MODELS: tuple[type[BaseModel], ...] = typing.get_args(typing.get_args(c.Command)[0])

NUMBER_POISONS = (float("nan"), float("inf"), float("-inf"), float("1e999"), "nan", "Infinity")
TEXT_POISONS = ("SBH\x0001", "evil\u202eexe.txt", "a\u2066b", "bell\x07", "del\x7f", "x\x9bc")


def _leaves(annotation: Any) -> set[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaves(a) for a in typing.get_args(annotation)))
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    return {annotation}


def _fields(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str]]:
    """(path, "number" | "text") of every free number or text field, nested models included."""
    found: list[tuple[tuple[str, ...], str]] = []
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        leaves = _leaves(info.annotation)
        if float in leaves or Any in leaves:
            found.append((path, "number"))
        if str in leaves or Any in leaves:
            found.append((path, "text"))
        for leaf in leaves:
            if isinstance(leaf, type) and issubclass(leaf, InputModel):
                found.extend(_fields(leaf, path))
    return found


def _is_any(model: type[BaseModel], path: tuple[str, ...]) -> bool:
    return len(path) == 1 and model.model_fields[path[0]].annotation is Any


CASES = [
    (model, path, kind)
    for model in COMMAND_MODELS
    for path, kind in _fields(model)
    if path != ("type",)
]


def test_every_command_model_is_an_input_model_with_number_and_text_fields_covered() -> None:
    assert all(issubclass(m, InputModel) for m in COMMAND_MODELS)
    assert len(COMMAND_MODELS) >= 29
    kinds = {kind for _, _, kind in CASES}
    assert kinds == {"number", "text"}


def _body(model: type[BaseModel], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": model.model_fields["type"].default}
    node = body
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return body


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(CASES),
    number=st.sampled_from(NUMBER_POISONS),
    text=st.sampled_from(TEXT_POISONS),
)
def test_a_poison_value_is_refused_naming_its_field(
    case: tuple[type[BaseModel], tuple[str, ...], str], number: Any, text: str
) -> None:
    model, path, kind = case
    poison = number if kind == "number" else text
    if kind == "number" and isinstance(number, str) and _is_any(model, path):
        # In a free-form field the text "nan" is text; the correction's own type refuses it.
        poison = float(number)
    with pytest.raises(ValidationError) as refused:
        c.parse_command(_body(model, path, poison))
    # The discriminated union puts the command's tag first in every location.
    named = [e for e in refused.value.errors() if tuple(map(str, e["loc"][1:])) == path]
    assert named, f"{model.__name__}.{'.'.join(path)} not named in {refused.value.errors()}"
    assert all(e["type"] != "missing" for e in named)


@pytest.mark.parametrize("poison", [float("nan"), float("inf"), "x\x00", "\u202e", ["ok", "\x00"]])
def test_a_correction_cannot_carry_a_poison_new_value(poison: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        c.RecordCorrection(
            occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
            target_seq=1,
            field="volume_ml",
            new_value=poison,
            reason="typo",
        )
    assert refused.value.errors()[0]["loc"] == ("new_value",)


@pytest.mark.parametrize("value", ["line one\nline two", "tab\there", "Ünïcødé 名字 🙂", "\u200d"])
def test_ordinary_text_with_line_breaks_and_unicode_is_accepted(value: str) -> None:
    assert unsafe_value(value) is None


# -- dates: plausible bounds from the protocol -------------------------------------------------

COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def proto() -> Protocol:
    return load_protocol()


def _register(**changes: Any) -> c.RegisterSubject:
    fields: dict[str, Any] = {
        "occurred_at": NOW,
        "subject_id": "S-DATES",
        "disease": "SLE",
        "sex": "female",
        "birth_date": date(1980, 6, 15),
        **changes,
    }
    return c.RegisterSubject.model_validate(fields)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_date": date(1899, 12, 31)}, "birth_date"),
        ({"birth_date": date(1, 1, 1)}, "birth_date"),
        ({"birth_date": date(2999, 1, 1)}, "birth_date"),
        ({"occurred_at": datetime(1900, 1, 1, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": datetime(1, 1, 1, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": datetime(2023, 12, 31, tzinfo=UTC)}, "occurred_at"),
    ],
)
def test_an_implausible_date_is_refused_naming_its_field(
    proto: Protocol, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueOutOfRange) as refused:
        decide(SubjectState(), _register(**changes), COORDINATOR, NOW, proto)
    assert refused.value.field == field


def test_the_date_bounds_are_protocol_data_marked_site_default(proto: Protocol) -> None:
    assert proto.plausibility.site_default
    assert proto.plausibility.earliest_birth_date == date(1900, 1, 1)
    earliest = proto.plausibility.earliest_clinical_date
    decide(
        SubjectState(),
        _register(occurred_at=datetime.combine(earliest, datetime.min.time(), tzinfo=UTC)),
        COORDINATOR,
        NOW,
        proto,
    )
