"""Domain errors: each says why a command was refused, in words a coordinator understands."""

from __future__ import annotations

__all__ = [
    "DomainError",
    "DuplicateCommand",
    "MissingPrerequisite",
    "NotFound",
    "RoleNotAllowed",
    "Unstorable",
    "ValueOutOfRange",
    "WrongPhase",
]


class DomainError(Exception):
    """A command refused by the domain; nothing is recorded."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class WrongPhase(DomainError):
    code = "wrong_phase"


class MissingPrerequisite(DomainError):
    code = "missing_prerequisite"


class RoleNotAllowed(DomainError):
    code = "role_not_allowed"


class ValueOutOfRange(DomainError):
    code = "value_out_of_range"


class NotFound(DomainError):
    code = "not_found"


class Unstorable(DomainError):
    """The event store refused the decided record (a value it cannot hold); nothing stored."""

    code = "unstorable"


class DuplicateCommand(DomainError):
    """A command id already used for a different command (the Idempotency-Key was reused)."""

    code = "duplicate_command"
