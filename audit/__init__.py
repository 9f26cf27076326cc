"""Audit tools: prove the event store unaltered, replay subjects, check replay determinism, export.

They read the store directly, so they keep working while Temporal is down; only the live-state
comparison and the determinism check talk to Temporal.
"""

from audit.determinism import ReplayOutcome, check_histories, replay_history
from audit.export import export_csv, export_jsonl
from audit.odm import export_odm
from audit.replay import ReplayResult, TimelineEntry, replay_subject
from audit.statediff import FieldDifference, diff_states
from audit.verify import Finding, VerifyReport, verify_store

__all__ = [
    "FieldDifference",
    "Finding",
    "ReplayOutcome",
    "ReplayResult",
    "TimelineEntry",
    "VerifyReport",
    "check_histories",
    "diff_states",
    "export_csv",
    "export_jsonl",
    "export_odm",
    "replay_history",
    "replay_subject",
    "verify_store",
]
