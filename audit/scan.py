"""One pass over the log: recompute every hash, link, seq and indexed column; collect leaves.

This is the hot loop of ``trial audit verify`` (200,000 events in a few seconds), so it works on
the raw rows and parsed JSON, never on pydantic models, and hashes each envelope once. Nothing
is weakened for speed: the fast canonical path is taken only where it is byte-identical to
RFC 8785 (see ``domain.canonical``), otherwise the ``rfc8785`` package serialises.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.canonical import (
    GENESIS_HASH,
    JCS_SCHEME,
    NumberWatch,
    UnknownHashScheme,
    canonical_text,
    fast_jcs_equivalent,
)
from store.log import LogRow

__all__ = ["Problem", "StreamScan", "row_problem"]

_c_encoder = getattr(json.encoder, "c_make_encoder", None)


def _make_sorted_encoder() -> Any:
    """``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, built once.

    ``json.dumps`` builds a new C encoder on every call; the verify loop calls it 200,000 times.
    """
    if _c_encoder is None:  # pragma: no cover (only without CPython's _json accelerator)
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    encoder = _c_encoder(
        None, None, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
    return lambda value: "".join(encoder(value, 0))


_encode_sorted = _make_sorted_encoder()
_orjson_loads = orjson.loads
_orjson_dumps = orjson.dumps
_SORTED = orjson.OPT_SORT_KEYS
_SORTED_STRICT = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_Unparsed = (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError)


def _has_float(value: dict[str, Any]) -> bool:
    """Whether a parsed document holds a float anywhere (iterative: no recursion cost)."""
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        for item in node.values() if node.__class__ is dict else node:
            kind = item.__class__
            if kind is float:
                return True
            if kind is dict or kind is list:
                stack.append(item)
    return False


def _fast_canonical(text: str) -> tuple[dict[str, Any], Any, bytes] | None:
    """(envelope, its stored hash, canonical bytes without ``hash``) through orjson, or None.

    For a document without floats, orjson's sorted-keys output is byte for byte
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, and RFC 8785
    when keys sort alike in UTF-16 and no integer exceeds 2**53 (OPT_STRICT_INTEGER refuses
    those). Floats print differently in places (exponents, integral values), and orjson reads
    integers beyond 64 bits as floats, so any float, or anything orjson refuses (NaN, lone
    surrogates), returns None: the reference path decides.
    """
    try:
        env = _orjson_loads(text)
        if env.__class__ is not dict or _has_float(env):
            return None
        body = env.copy()
        stored = body.pop("hash", None)
        scheme = body.get("hash_scheme")
        if scheme is None:
            out: bytes = _orjson_dumps(body, option=_SORTED)
        elif scheme == JCS_SCHEME and fast_jcs_equivalent(text, True):
            out = _orjson_dumps(body, option=_SORTED_STRICT)
        else:
            return None
    except _Unparsed:
        return None
    return env, stored, out


def _canonical_bytes(body: dict[str, Any], scheme: object, text: str, numbers_ok: bool) -> bytes:
    """The reference canonical form of an envelope without ``hash``, under its scheme.

    The C json encoder where it prints RFC 8785 (``NumberWatch`` saw only plain numbers and
    keys sort alike), else the ``rfc8785`` package.
    """
    if scheme is None or (scheme == JCS_SCHEME and fast_jcs_equivalent(text, numbers_ok)):
        text_form: str = _encode_sorted(body)
        return text_form.encode("utf-8")
    if not isinstance(scheme, str):
        raise UnknownHashScheme(scheme)
    return canonical_text(body, scheme).encode("utf-8")


_sha256 = hashlib.sha256
_fromiso = datetime.fromisoformat


@dataclass(slots=True)
class Problem:
    stream: str
    seq: int
    problem: str


def _time(value: str | datetime) -> datetime:
    moment = _fromiso(value) if isinstance(value, str) else value
    # SQLite columns hold naive UTC (store.projection.utc); PostgreSQL returns aware times.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _column_problem(row: LogRow, env: dict[str, Any]) -> str | None:
    """The first indexed column that says something else than the envelope."""
    actor = env.get("actor")
    checks: tuple[tuple[str, object, object], ...] = (
        ("type", row.type, env.get("type")),
        ("actor_id", row.actor_id, actor.get("user_id") if isinstance(actor, dict) else None),
        ("prev_hash", row.prev_hash, env.get("prev_hash")),
        ("hash", row.hash, env.get("hash")),
    )
    for name, column, value in checks:
        if column != value:
            return (
                f"indexed column {name} is {column!r} but the envelope says {value!r} "
                "(the column was changed by SQL; queries on it see a forged value)"
            )
    for name, column in (("occurred_at", row.occurred_at), ("recorded_at", row.recorded_at)):
        value = env.get(name)
        try:
            same = isinstance(value, str) and _time(column) == _fromiso(value)
        except (TypeError, ValueError):
            same = False
        if not same:
            return (
                f"indexed column {name} is {column!s} but the envelope says {value!s} "
                "(the column was changed by SQL; queries on it see a forged value)"
            )
    return None


@dataclass
class StreamScan:
    """Per-stream chain state plus the Merkle leaves of everything scanned, in order."""

    with_leaves: bool = True
    problems: dict[str, Problem] = field(default_factory=dict)
    # stream -> (seq, hash) of its last good event
    tails: dict[str, tuple[int, str]] = field(default_factory=dict)
    leaves: list[bytes] = field(default_factory=list)
    places: list[tuple[str, int]] = field(default_factory=list)
    events: int = 0
    # (first, last) log indexes absent between stored rows: deleted events, stream unknown.
    log_gaps: list[tuple[int, int]] = field(default_factory=list)
    _watch: NumberWatch = field(default_factory=NumberWatch, init=False, repr=False)

    def __post_init__(self) -> None:
        # The C scanner itself: JSONDecoder.decode adds a regex pass for surrounding whitespace,
        # which canonical text never has (trailing data is checked by position instead).
        self._scan_once: Any = self._watch.decoder().scan_once  # type: ignore[attr-defined]

    def _reference(self, text: str) -> tuple[dict[str, Any] | None, Any, bytes, str | None]:
        """The standard-library path: json with number hooks, then the reference serialisers."""
        watch = self._watch
        watch.ok = True
        try:
            env, end = self._scan_once(text, 0)
            if end != len(text) or env.__class__ is not dict:
                raise ValueError("trailing data or not an object")
        except (ValueError, StopIteration):
            try:
                json.loads(text)
                problem = "envelope is not one JSON object"
            except ValueError as exc:
                problem = f"envelope is not JSON: {exc}"
            return None, None, _sha256(text.encode("utf-8")).digest(), problem
        body = env.copy()
        stored = body.pop("hash", None)
        try:
            canonical = _canonical_bytes(body, body.get("hash_scheme"), text, watch.ok)
        except ValueError as exc:
            return (
                env,
                stored,
                _sha256(text.encode("utf-8")).digest(),
                (f"cannot hash the envelope: {exc}"),
            )
        return env, stored, _sha256(canonical).digest(), None

    def report(self, stream: str, seq: int, problem: str) -> None:
        """Keep the first broken event of each stream (the lowest seq)."""
        known = self.problems.get(stream)
        if known is None or seq < known.seq:
            self.problems[stream] = Problem(stream, seq, problem)

    def scan(
        self, rows: Iterable[tuple[Any, ...]], expected_index: int | None = None
    ) -> int | None:
        """Check rows (``LogRow`` fields, in that order) in log order.

        ``expected_index`` (when given) checks that the log is gapless; returns the next one.
        Every row is checked completely; the message is only composed for a row that fails.
        """
        problems = self.problems
        tails = self.tails
        leaves_append = self.leaves.append
        places_append = self.places.append
        with_leaves = self.with_leaves
        sha256 = _sha256
        count = 0
        for row in rows:
            (
                log_index,
                stream,
                seq,
                type_,
                occurred,
                recorded,
                actor_id,
                prev_col,
                hash_col,
                text,
            ) = row
            count += 1
            if expected_index is not None:
                if log_index != expected_index:
                    self.log_gaps.append((expected_index, (log_index or 0) - 1))
                expected_index = (log_index or 0) + 1
            env: dict[str, Any] | None
            problem: str | None = None
            fast = _fast_canonical(text)
            if fast is not None:
                env, stored_hash, canonical = fast
                raw = sha256(canonical).digest()
            else:
                env, stored_hash, raw, problem = self._reference(text)
            digest = raw.hex()
            if with_leaves:
                leaf = sha256(b"\x00" + raw).digest()
                leaves_append(leaf)
                places_append((stream, seq))
            if stream in problems:
                continue
            tail = tails.get(stream)
            if tail is None:
                want_seq, want_prev = 1, GENESIS_HASH
            else:
                want_seq, want_prev = tail[0] + 1, tail[1]
            if problem is None and env is not None:
                get = env.get
                actor = get("actor")
                if not (
                    seq == want_seq
                    and stored_hash == digest
                    and get("prev_hash") == want_prev
                    and get("seq") == seq
                    and get("stream") == stream
                    and type_ == get("type")
                    and hash_col == digest
                    and prev_col == want_prev
                    and actor.__class__ is dict
                    and actor.get("user_id") == actor_id
                    and _same_time(occurred, get("occurred_at"))
                    and _same_time(recorded, get("recorded_at"))
                ):
                    # Something differs (or only looks different, e.g. a time with an offset):
                    # the full check decides and says what.
                    problem = row_problem(LogRow(*row), env, digest, tail)
            if problem is not None:
                # A seq gap is reported where the stream's order breaks, not at the row found.
                at = want_seq if problem.startswith("seq gap") else seq
                self.report(stream, at, problem)
                continue
            tails[stream] = (seq, digest)
        self.events += count
        return expected_index


def _same_time(column: object, text: object) -> bool:
    """Cheap equality of a stored time column with the envelope's text, for the common forms.

    SQLite holds naive UTC text ("2026-01-05 09:00:00.000000"), the envelope UTC with a "Z"
    ("2026-01-05T09:00:00Z", or with microseconds); a ``False`` here is only confirmed by the
    full comparison in ``row_problem``.
    """
    if column.__class__ is str and text.__class__ is str:
        moment = str(text)
        if len(moment) == 20:
            return column == moment.replace("T", " ").replace("Z", ".000000")
        return column == moment[:10] + " " + moment[11:-1]
    if isinstance(column, datetime) and isinstance(text, str):
        try:
            return column == _fromiso(text)
        except ValueError:
            return False
    return False


def row_problem(
    row: LogRow, env: dict[str, Any], digest: str, tail: tuple[int, str] | None
) -> str | None:
    """What is wrong with one parsed row after its stream's previous event, if anything."""
    expected = 1 if tail is None else tail[0] + 1
    if row.seq != expected:
        what = "missing" if row.seq > expected else "duplicate or out of order"
        return f"seq gap: expected {expected}, found {row.seq} ({what})"
    if env.get("stream") != row.stream or env.get("seq") != row.seq:
        return (
            f"the envelope names stream {env.get('stream')!r} seq {env.get('seq')!r}, the "
            f"columns say {row.stream!r} seq {row.seq} (moved by SQL)"
        )
    if env.get("prev_hash") != (GENESIS_HASH if tail is None else tail[1]):
        return (
            "prev_hash does not match the previous event's hash "
            "(an event was inserted, deleted or reordered)"
        )
    stored = env.get("hash")
    if stored != digest:
        return (
            f"hash mismatch: stored {str(stored)[:12]}…, recomputed {digest[:12]}… "
            "(payload or envelope changed)"
        )
    return _column_problem(row, env)
