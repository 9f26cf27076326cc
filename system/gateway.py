"""The client side of the subject and study workflows: how the API, CLI and simulation send
commands. The gateways live in ``system/subject_gateway.py`` and ``system/study_gateway.py``; both
stay importable from here."""

from __future__ import annotations

from system.study_gateway import StudyGateway
from system.subject_gateway import SubjectGateway

__all__ = ["StudyGateway", "SubjectGateway"]
