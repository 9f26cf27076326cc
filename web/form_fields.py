"""Form fields derived from pydantic model fields, so a form and its command never drift apart."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel
from pydantic_core import PydanticUndefined

from domain.protocol import Protocol
from domain.state import SubjectState

__all__ = ["FieldKind", "FormField", "FormSpec", "field_for", "fields_of"]

FieldKind = Literal[
    "text", "number", "date", "datetime", "select", "multiselect", "checkbox", "textarea", "json"
]

_TEXTAREAS = {"reason", "detail", "notes"}


@dataclass(frozen=True, slots=True)
class FormField:
    # Dotted for a nested model's field, e.g. "crs.max_temperature_c".
    name: str
    label: str
    kind: FieldKind
    options: tuple[str, ...] = ()
    required: bool = True
    # Shown when the form opens; the model's own default, so what you see is what is recorded.
    default: str = ""
    # What a select shows for each of ``options`` (same order); empty shows the values.
    option_labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FormSpec:
    # The form's key in URLs; also the command type unless ``command_type`` says otherwise.
    command: str
    title: str
    model: type[BaseModel]
    fields: tuple[FormField, ...]
    # Several forms may build one command (a CRS and a general AE are both record_adverse_event).
    command_type: str | None = None
    # Values the form always sends, e.g. kind="CRS".
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # "safety" forms are offered in the subject page's adverse-event section, "custody" ones
    # in its chain-of-custody section, "results" ones beside the dated results.
    group: Literal["course", "safety", "custody", "monitoring", "results"] = "course"
    # Offered only when the subject has something for the form to act on.
    applies: Callable[[SubjectState, Protocol], bool] | None = None
    # A rule across a nested model's fields is reported on the model; these name the field
    # that shows it (e.g. a creatinine implausible for its unit, next to the value).
    error_fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.command_type or self.command


def _default_text(default: Any) -> str:
    if default is PydanticUndefined or default is None or isinstance(default, bool | tuple):
        return ""
    if isinstance(default, Enum):
        return str(default.value)
    return str(default)


def field_for(
    name: str, annotation: Any, required: bool, label: str | None = None, default: Any = None
) -> FormField:
    """The input that edits one model field."""
    label = label or name.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return field_for(name, args[0], required, label, default)
    if origin in (Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return field_for(name, inner[0], False, label, default)
    text = _default_text(default)
    if origin is Literal:
        return FormField(name, label, "select", tuple(str(a) for a in args), required, text)
    if origin is tuple and args and get_origin(args[0]) is Literal:
        options = tuple(str(a) for a in get_args(args[0]))
        return FormField(name, label, "multiselect", options, required=False)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        options = tuple(str(m.value) for m in annotation)
        return FormField(name, label, "select", options, required, text)
    if name.rsplit(".", 1)[-1] in _TEXTAREAS:
        return FormField(name, label, "textarea", required=required)
    if annotation in (datetime, AwareDatetime):
        return FormField(name, label, "datetime", required=required)
    if annotation is date:
        return FormField(name, label, "date", required=required)
    if annotation in (int, float):
        return FormField(name, label, "number", required=required, default=text)
    if annotation is bool:
        return FormField(name, label, "checkbox", required=False)
    if (isinstance(annotation, type) and issubclass(annotation, BaseModel)) or annotation is Any:
        return FormField(name, label, "json", required=required)
    return FormField(name, label, "text", required=required, default=text)


def fields_of(
    model: type[BaseModel],
    *,
    prefix: str = "",
    only: tuple[str, ...] | None = None,
    exclude: frozenset[str] = frozenset(),
    labels: Mapping[str, str] | None = None,
) -> tuple[FormField, ...]:
    """One field per model field, in ``only``'s order when given, else the model's."""
    names = only if only is not None else tuple(model.model_fields)
    found = []
    for name in names:
        if name in exclude:
            continue
        info = model.model_fields[name]
        found.append(
            field_for(
                f"{prefix}{name}",
                info.rebuild_annotation(),
                info.is_required(),
                (labels or {}).get(name),
                info.default,
            )
        )
    return tuple(found)
