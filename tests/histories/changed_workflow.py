"""A deliberately changed SubjectWorkflow, only for recording an incompatible history.

It registers under the real workflow's name and waits on one extra timer before doing what
the real workflow does, so the first workflow task of its histories issues a StartTimer
command where the real code issues none: replaying such a history against the real
SubjectWorkflow must fail with a nondeterminism error.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.state import SubjectState
    from workflows.subject import SubjectWorkflow, SubjectWorkflowInput

__all__ = ["ChangedSubjectWorkflow"]


@workflow.defn(name="SubjectWorkflow")
class ChangedSubjectWorkflow(SubjectWorkflow):
    @workflow.run
    async def run(self, input: SubjectWorkflowInput) -> SubjectState:
        await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)
