"""What a failed workflow update means to a caller: the domain error the workflow raised (or the
store's refusal), rebuilt on the client side of the subject and study workflows."""

from __future__ import annotations

from temporalio.client import (
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ActivityError, ApplicationError

from activities.events import UNSTORABLE
from domain import errors
from domain.signing import SignatureRefused

__all__ = ["domain_error"]

_ERRORS: dict[str, type[errors.DomainError]] = {
    cls.code: cls
    for cls in (
        errors.DomainError,
        errors.WrongPhase,
        errors.MissingPrerequisite,
        errors.RoleNotAllowed,
        errors.ValueOutOfRange,
        errors.NotFound,
        SignatureRefused,
        errors.Unstorable,
        errors.DuplicateCommand,
    )
}


def domain_error(exc: WorkflowUpdateFailedError) -> errors.DomainError:
    cause = exc.cause
    inner = cause.cause if isinstance(cause, ActivityError) else None
    if isinstance(inner, ApplicationError) and inner.type == UNSTORABLE:
        # The store refused the decided record: the command failed, the subject is unchanged.
        return errors.Unstorable(inner.message)
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        cls = _ERRORS.get(cause.type or "", errors.DomainError)
        field = details.get("field") if isinstance(details, dict) else None
        return cls(cause.message, field=field)
    return errors.DomainError(str(cause or exc))
