"""What changed between two protocol versions, grouped the way a reviewer reads an amendment."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.protocol import Protocol

__all__ = ["Change", "diff_protocols"]

# Section of the protocol -> the heading a reviewer looks for.
_SECTIONS = {
    "eligibility": "criteria",
    "visits": "visits",
    "ltfu": "long-term follow-up",
    "dose_levels": "doses",
    "routes": "doses",
    "lymphodepletion": "doses",
    "safety": "safety rules",
    "response": "response",
    "reminders": "visits",
    "calendar": "site calendar",
    "protocol": "header",
    "amendment": "amendment",
}
# Expanded holiday tables differ with every year range; the settings that make them are shown.
_SKIPPED = {("calendar", "holidays"), ("calendar", "workdays")}


class Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    section: str
    path: str
    kind: str  # "added", "removed" or "changed"
    old: Any = None
    new: Any = None


def _keyed(value: Any) -> Any:
    """Lists of records with a ``code`` (visits, dose levels) compare by code, not position."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, dict) and "code" in v for v in value)
    ):
        return {v["code"]: v for v in value}
    return value


def _walk(path: tuple[str, ...], old: Any, new: Any, out: list[Change]) -> None:
    if path[:2] in _SKIPPED:
        return
    old, new = _keyed(old), _keyed(new)
    section = _SECTIONS.get(path[0], path[0]) if path else "protocol"
    # A section one side lacks is shown setting by setting, like any other.
    if len(path) == 1 and isinstance(new, dict) and old is None:
        old = {}
    if len(path) == 1 and isinstance(old, dict) and new is None:
        new = {}
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if key not in new:
                out.append(
                    Change(
                        section=section,
                        path=".".join((*path, str(key))),
                        kind="removed",
                        old=old[key],
                    )
                )
            elif key not in old:
                out.append(
                    Change(
                        section=section,
                        path=".".join((*path, str(key))),
                        kind="added",
                        new=new[key],
                    )
                )
            else:
                _walk((*path, str(key)), old[key], new[key], out)
        return
    if old != new:
        kind = "added" if old is None else "removed" if new is None else "changed"
        out.append(Change(section=section, path=".".join(path), kind=kind, old=old, new=new))


def diff_protocols(old: Protocol, new: Protocol) -> list[Change]:
    out: list[Change] = []
    _walk((), old.model_dump(mode="json"), new.model_dump(mode="json"), out)
    return out
