"""Check every electronic signature against the stored events it signs (21 CFR 11.70).

Kept beside ``audit.verify`` (the hash chain) as its own check: a signature names the hashes of
the events signed, so a changed signed event invalidates the signature even where the chain
check stops at the first break of a stream.
"""

from __future__ import annotations

from audit.source import raw_streams
from audit.verify import Finding, VerifyReport
from domain.signatures import SignatureProblem, check_signatures
from store.base import EventStore

__all__ = ["signature_findings", "verify_signatures", "with_signature_findings"]


def verify_signatures(store: EventStore, subject: str | None = None) -> list[SignatureProblem]:
    problems: list[SignatureProblem] = []
    for stream, rows in raw_streams(store, subject):
        problems.extend(check_signatures(stream, rows))
    return problems


def signature_findings(problems: list[SignatureProblem]) -> list[Finding]:
    return [
        Finding(
            stream=p.stream,
            seq=p.seq,
            problem=f"signature #{p.seq} is invalid: event #{p.signed_seq}: {p.problem}",
        )
        for p in problems
    ]


def with_signature_findings(
    report: VerifyReport, store: EventStore, subject: str | None = None
) -> VerifyReport:
    """The chain report with one finding added per invalid signature."""
    extra = signature_findings(verify_signatures(store, subject))
    if not extra:
        return report
    findings = sorted((*report.findings, *extra), key=lambda f: (f.stream, f.seq))
    return report.model_copy(update={"findings": tuple(findings)})
