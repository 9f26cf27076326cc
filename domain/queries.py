"""Queries (data clarification requests): opened by a monitor or a rule, answered by the site,
closed or re-opened by the monitor. Every step is an event on the subject's stream."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain import events as e
from domain import monitoring_commands as mc
from domain import monitoring_events as me
from domain.errors import NotFound, WrongPhase
from domain.monitoring_state import Query
from domain.protocol import Protocol
from domain.state import SubjectState

__all__ = ["QUERY_DECIDERS", "evolve_query", "find_query"]


def find_query(s: SubjectState, query_id: str) -> Query:
    query = next((q for q in s.queries if q.query_id == query_id), None)
    if query is None:
        known = ", ".join(q.query_id for q in s.queries) or "none"
        raise NotFound(f"no query {query_id!r}; queries: {known}", field="query_id")
    return query


def _open(s: SubjectState, cmd: mc.OpenQuery, now: datetime, p: Protocol) -> list[e.EventPayload]:
    entry = next((x for x in s.ledger if x.seq == cmd.target_seq), None)
    if entry is None or entry.form is None:
        raise NotFound(
            f"event {cmd.target_seq} holds no form data a query can be raised on",
            field="target_seq",
        )
    number = len(s.queries) + 1
    return [
        me.QueryOpened(
            query_id=f"{s.subject_id}-Q{number}",
            target_seq=cmd.target_seq,
            form=entry.form,
            field=cmd.field or None,
            question=cmd.question,
        )
    ]


def _answer(
    s: SubjectState, cmd: mc.AnswerQuery, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    query = find_query(s, cmd.query_id)
    if query.status != "open":
        raise WrongPhase(f"query {query.query_id} is {query.status}, not open", field="query_id")
    return [me.QueryAnswered(query_id=query.query_id, answer=cmd.answer)]


def _close(s: SubjectState, cmd: mc.CloseQuery, now: datetime, p: Protocol) -> list[e.EventPayload]:
    query = find_query(s, cmd.query_id)
    if query.status == "closed":
        raise WrongPhase(f"query {query.query_id} is already closed", field="query_id")
    return [me.QueryClosed(query_id=query.query_id)]


def _reopen(
    s: SubjectState, cmd: mc.ReopenQuery, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    query = find_query(s, cmd.query_id)
    if query.status == "open":
        raise WrongPhase(f"query {query.query_id} is still open", field="query_id")
    return [me.QueryReopened(query_id=query.query_id, question=cmd.question)]


QUERY_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    mc.OpenQuery: _open,
    mc.AnswerQuery: _answer,
    mc.CloseQuery: _close,
    mc.ReopenQuery: _reopen,
}


def _replace(s: SubjectState, query_id: str, **update: Any) -> tuple[Query, ...]:
    return tuple(q.model_copy(update=update) if q.query_id == query_id else q for q in s.queries)


def _steps(s: SubjectState, query_id: str, seq: int) -> tuple[int, ...]:
    query = next(q for q in s.queries if q.query_id == query_id)
    return (*query.steps, seq)


def evolve_query(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    match p:
        case me.QueryOpened():
            query = Query(
                query_id=p.query_id,
                target_seq=p.target_seq,
                form=p.form,
                field=p.field,
                question=p.question,
                status="open",
                opened_seq=event.seq,
                opened_at=event.recorded_at,
                opened_by=event.actor.user_id,
                steps=(event.seq,),
            )
            return {"queries": (*s.queries, query)}
        case me.QueryAnswered():
            return {
                "queries": _replace(
                    s,
                    p.query_id,
                    status="answered",
                    answer=p.answer,
                    answered_at=event.recorded_at,
                    answered_by=event.actor.user_id,
                    steps=_steps(s, p.query_id, event.seq),
                )
            }
        case me.QueryClosed():
            return {
                "queries": _replace(
                    s,
                    p.query_id,
                    status="closed",
                    closed_at=event.recorded_at,
                    steps=_steps(s, p.query_id, event.seq),
                )
            }
        case me.QueryReopened():
            # The age of a re-opened query counts from the re-opening: the site's clock restarts.
            return {
                "queries": _replace(
                    s,
                    p.query_id,
                    status="open",
                    question=p.question,
                    opened_at=event.recorded_at,
                    closed_at=None,
                    steps=_steps(s, p.query_id, event.seq),
                )
            }
    return None
