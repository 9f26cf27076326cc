"""One pass over the log: recompute every hash, link, seq and indexed column; collect leaves.

This is the hot loop of ``trial audit verify`` (200,000 events in a few seconds), so it works on
the raw rows and parsed JSON, never on pydantic models, and hashes each envelope once. Nothing
is weakened for speed: the fast canonical path is taken only where it is byte-identical to
RFC 8785 (see ``domain.canonical``), otherwise the ``rfc8785`` package serialises.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson

from domain.canonical import (
    GENESIS_HASH,
    JCS_SCHEME,
    NumberWatch,
    UnknownHashScheme,
    canonical_text,
    fast_jcs_equivalent,
    json_printable_float,
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

# A \u escape of a character that sorts differently in UTF-16 (U+E000..U+FFFF, or a surrogate of
# a supplementary character). ``fast_jcs_equivalent`` looks for such characters in the text, so
# it misses a key written as an escape; an escaped backslash before "u" only costs the slow path.
_REORDERING_ESCAPE = re.compile(r"\\u(?:[eEfF]|[dD][89abAB])")


def _jcs_sorts_alike(text: str, numbers_ok: bool) -> bool:
    """``fast_jcs_equivalent``, also when keys are written as ``\\u`` escapes in ``text``."""
    return fast_jcs_equivalent(text, numbers_ok) and (
        "\\" not in text or _REORDERING_ESCAPE.search(text) is None
    )


_Fragment = orjson.Fragment
# Integral floats from here on may have been integer literals beyond 64 bits (see below).
_EXACT_INTEGRAL = float(2**53)


def _print_floats_as_reference(value: dict[str, Any], jcs: bool) -> bool:
    """Make every float in a parsed document print as the reference path prints it; False if
    one cannot (the reference path decides then).

    The reference path prints a float with ``repr`` (``json.dumps``), except that RFC 8785 writes
    an integral value as an integer and an exponent in ECMAScript's form. orjson's own float
    format differs in places ("1e-5" against "1e-05"), so each float is replaced in place by
    its ``repr`` as a verbatim fragment, or by the int it equals where RFC 8785 drops the
    fraction. orjson reads an integer literal beyond 64 bits as a float: an integral float
    beyond 2**53 may have been such a literal, which the reference path prints in full, so it
    too is left to the reference path, as is any RFC 8785 float whose ``repr`` has an exponent.
    A float among the envelope's own members (a forged ``seq``) is left to the reference path
    too: the row checks compare and report those members as parsed. Iterative (no recursion
    cost); strings are tested first, as most values are strings.
    """
    stack: list[Any] = []
    for item in value.values():
        kind = item.__class__
        if kind is dict or kind is list:
            stack.append(item)
        elif kind is float:
            return False
    while stack:
        node = stack.pop()
        # Replacing a value of a dict (not adding a key) is allowed while iterating over it.
        for key, item in node.items() if node.__class__ is dict else enumerate(node):
            kind = item.__class__
            if kind is str:
                continue
            if kind is dict or kind is list:
                stack.append(item)
            elif kind is float:
                if jcs:
                    printable = json_printable_float(item)
                    if printable is None:
                        return False
                    node[key] = printable if printable.__class__ is int else _Fragment(repr(item))
                elif -_EXACT_INTEGRAL < item < _EXACT_INTEGRAL or not item.is_integer():
                    node[key] = _Fragment(repr(item))
                else:
                    return False
    return True


def _fast_body(body: dict[str, Any], text: str) -> bytes | None:
    """The canonical bytes of ``body`` (an envelope parsed by orjson, ``hash`` taken out), or None.

    orjson's sorted-keys output is byte for byte ``json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` once floats print as ``repr``
    (``_print_floats_as_reference``, which rewrites ``body``'s floats in place), and RFC 8785
    when keys sort alike in UTF-16 and no integer exceeds 2**53 (OPT_STRICT_INTEGER refuses
    those). Anything orjson refuses returns None: the reference path decides. ``text`` is the
    stored envelope the body was parsed from; orjson also reads one with whitespace around it,
    which the reference path refuses, so that too returns None.
    """
    if text[0] != "{" or text[-1] != "}":
        return None
    scheme = body.get("hash_scheme")
    if scheme is None:
        option = _SORTED
    elif scheme == JCS_SCHEME and (
        # Plain ASCII without escapes sorts alike; the rest is looked at more closely.
        (text.isascii() and "\\" not in text) or _jcs_sorts_alike(text, True)
    ):
        option = _SORTED_STRICT
    else:
        return None
    if not _print_floats_as_reference(body, scheme is not None):
        return None
    try:
        out: bytes = _orjson_dumps(body, option=option)
    except _Unparsed:
        return None
    return out


def _fast_canonical(text: str) -> tuple[dict[str, Any], Any, bytes] | None:
    """(envelope without ``hash``, its stored hash, canonical bytes) through orjson, or None.

    What ``StreamScan.scan`` does per row, as one function for the tests.
    """
    try:
        env = _orjson_loads(text)
    except _Unparsed:
        return None
    if env.__class__ is not dict:
        return None
    stored = env.pop("hash", None)
    out = _fast_body(env, text)
    return None if out is None else (env, stored, out)


def _canonical_bytes(body: dict[str, Any], scheme: object, text: str, numbers_ok: bool) -> bytes:
    """The reference canonical form of an envelope without ``hash``, under its scheme.

    The C json encoder where it prints RFC 8785 (``NumberWatch`` saw only plain numbers and
    keys sort alike), else the ``rfc8785`` package.
    """
    if scheme is None or (scheme == JCS_SCHEME and _jcs_sorts_alike(text, numbers_ok)):
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


def _time(value: object) -> datetime:
    moment = _fromiso(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        # SQLite keeps whatever an UPDATE wrote, e.g. a number.
        raise TypeError(f"not a time: {value!r}")
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
        loads = _orjson_loads
        fast_body = _fast_body
        checked_fields = _checked_fields
        fromiso = _fromiso
        epoch, epoch_utc = _EPOCH, _EPOCH_UTC
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
            # The orjson path (see _fast_body); ``env`` loses its ``hash`` member on the way,
            # which is put back only for a row that needs the full check.
            canonical: bytes | None = None
            try:
                env: Any = loads(text)
            except _Unparsed:
                env = None
            if env.__class__ is dict:
                stored_hash = env.pop("hash", None)
                canonical = fast_body(env, text)
            problem: str | None = None
            if canonical is not None:
                raw = sha256(canonical).digest()
            else:
                env, stored_hash, raw, problem = self._reference(text)
            digest = raw.hex()
            if with_leaves:
                leaves_append(sha256(b"\x00" + raw).digest())
                places_append((stream, seq))
            if stream in problems:
                continue
            tail = tails.get(stream)
            if tail is None:
                want_seq, want_prev = 1, GENESIS_HASH
            else:
                want_seq, want_prev = tail[0] + 1, tail[1]
            if problem is None and env is not None:
                # Every comparison ``row_problem`` makes, at once; any difference (or a missing
                # member, or a value of another type) and ``row_problem`` decides and says what.
                # Times: SQLite's naive UTC text against the envelope's ISO text, as distances
                # from the epoch (exactly ``_time(column) == _fromiso(text)``).
                try:
                    prev, env_seq, env_stream, env_type, actor, occ, rec = checked_fields(env)
                    same = (
                        seq == want_seq
                        and stored_hash == digest
                        and hash_col == digest
                        and prev_col == want_prev
                        and (prev, env_seq, env_stream, env_type) == (want_prev, seq, stream, type_)
                        and actor.__class__ is dict
                        and actor.get("user_id") == actor_id
                        and (
                            fromiso(occurred) - epoch == fromiso(occ) - epoch_utc
                            if occurred.__class__ is str
                            else _time(occurred) == fromiso(occ)
                        )
                        and (
                            fromiso(recorded) - epoch == fromiso(rec) - epoch_utc
                            if recorded.__class__ is str
                            else _time(recorded) == fromiso(rec)
                        )
                    )
                except (KeyError, TypeError, ValueError):
                    same = False
                if not same:
                    env["hash"] = stored_hash
                    problem = row_problem(LogRow(*row), env, digest, tail)
            if problem is not None:
                # A seq gap is reported where the stream's order breaks, not at the row found.
                at = want_seq if problem.startswith("seq gap") else seq
                self.report(stream, at, problem)
                continue
            tails[stream] = (seq, digest)
        self.events += count
        return expected_index


_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_checked_fields = itemgetter(
    "prev_hash", "seq", "stream", "type", "actor", "occurred_at", "recorded_at"
)


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
