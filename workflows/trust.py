"""The keys the workflows' update validators verify seals with, installed by the worker.

Why a module-level registry rather than the workflow input or a query of the environment:
- keys in the workflow input would be written into every history in clear;
- workflow code may not read the environment or files;
- only update *validators* read it, and validators do not run on replay, so a rotated or
  removed key never changes how an old history replays. The handler itself never looks.
The worker (``worker.build_worker``) installs the keyring before it polls; it is read-only
configuration from then on. Workflow modules import this module passed through the sandbox,
so they see the very object the worker installed.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

from domain.actors import Actor, Role
from domain.errors import RoleNotAllowed
from domain.signing import Keyring, Seal, SignatureRefused, verify_seal

__all__ = ["check_seal", "install_keyring", "installed_keyring"]

_keyring: Keyring | None = None


def install_keyring(keyring: Keyring) -> None:
    global _keyring
    _keyring = keyring


def installed_keyring() -> Keyring | None:
    return _keyring


def check_seal(model: BaseModel, seal: Seal | None, actor: Actor, *, purpose: str) -> None:
    """Called from update validators only: a valid, fresh seal for this workflow, and never
    the system actor (only the workflow itself acts as the system)."""
    if _keyring is None:
        # Fail closed: a worker without keys accepts nothing from outside.
        raise SignatureRefused("this worker has no submission keys installed", field="seal")
    verify_seal(
        model,
        seal,
        purpose=purpose,
        target=workflow.info().workflow_id,
        keyring=_keyring,
        now=workflow.now(),
    )
    if actor.role is Role.SYSTEM:
        raise RoleNotAllowed("the system actor is the workflow's own; no submission may use it")
