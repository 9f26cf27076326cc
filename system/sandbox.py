"""The workflow sandbox the worker runs its workflows in: what is passed through, and why.

Temporal's sandbox runs each workflow run's code in a fresh module namespace where the clock,
randomness, uuid4, the environment and file I/O are refused (``RestrictedWorkflowAccessError``).
Those checks apply only to modules executed inside the sandbox; a passed-through module is the
host's own and is not checked, so the workflow modules themselves are *not* passed through
(tests/workflows/test_sandbox.py holds both).

Measured with bench/simulate_vs_bare.py and py-spy: re-executing the workflow modules costs
about 15-20 ms once per run (pydantic, pydantic_core and annotated_types are passed through by
Temporal's defaults, the domain by the list below), while the SDK's per-payload
serialization-context queries cost more: see ``DirectContextSandboxedWorkflowRunner``.
"""

from __future__ import annotations

from typing import cast

from temporalio.converter import SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._in_sandbox import InSandbox
from temporalio.worker.workflow_sandbox._runner import _Instance

__all__ = ["PASSTHROUGH", "DirectContextSandboxedWorkflowRunner", "sandbox_runner"]

# Each is safe to share between runs because it holds no state a run could change or see:
# - domain: the pure core (frozen pydantic models, functions, the protocol as data); it never
#   reads the clock, randomness, uuid4, env or files (DESIGN.md rule 1), and workflows and the
#   audit replay must fold with the very same ``apply``;
# - activities, store: imported by workflow code only for activity definitions and the
#   argument/result models; their I/O runs in activities, never in a workflow.
# Not listed: ``workflows``. The workflow modules are re-executed per run so that the sandbox
# checks them. ``workflows.trust`` (the installed keyring) and the helpers the workflow modules
# import under ``workflow.unsafe.imports_passed_through()`` are passed through there, by name.
PASSTHROUGH = ("domain", "activities", "store")

# The name under which Temporal's sandbox keeps its in-sandbox object (temporalio 1.35,
# workflow_sandbox/_runner.py); without it the stock path is taken.
_IN_SANDBOX = "__temporal_in_sandbox"


class _DirectContextInstance(_Instance):
    """A sandboxed run whose serialization-context queries skip entering the sandbox.

    For every payload sequence of every activation and completion the worker's event loop asks
    the run which serialization context (workflow or activity) the payloads belong to. The
    stock sandbox answers by compiling and ``exec``-ing a snippet under the sandbox's importer,
    which swaps ``sys.modules``, ``__import__`` and the restricted builtins in and out: in a
    20-subject simulation that was 7 % of all samples and over a quarter of the event loop's
    busy time (py-spy), on the thread every update, activity and timer waits on. The answer is
    computed by Temporal's own ``_WorkflowInstanceImpl`` from its info and pending activities;
    no workflow code runs, which is what the unsandboxed runner does too. Activations (where
    workflow code runs) still go through the sandbox unchanged.
    """

    def _in_sandbox(self) -> InSandbox | None:
        found = self.globals_and_locals.get(_IN_SANDBOX)
        return cast("InSandbox", found) if isinstance(found, InSandbox) else None

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> SerializationContext | None:
        inner = self._in_sandbox()
        if inner is None:
            return super().get_serialization_context(command_info)
        return inner.get_serialization_context(command_info)

    def get_external_store_context(
        self, command_info: CommandInfo | None
    ) -> StorageDriverStoreContext:
        inner = self._in_sandbox()
        if inner is None:
            return super().get_external_store_context(command_info)
        return inner.get_external_store_context(command_info)


class DirectContextSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """Temporal's sandboxed runner, with the context queries of ``_DirectContextInstance``."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _DirectContextInstance(det, self.runner_class, self.restrictions)


def sandbox_runner() -> SandboxedWorkflowRunner:
    return DirectContextSandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
