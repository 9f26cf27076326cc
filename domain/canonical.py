"""Canonical JSON and SHA-256 hashing shared by the event chain and the audit tools.

Two hash schemes exist, named by the envelope's optional ``hash_scheme`` field:

- absent (``LEGACY_SCHEME``): SHA-256 over ``json.dumps(sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` — every event stored before RFC 8785 was adopted. Kept forever: stored
  events are never rewritten.
- ``"rfc8785-sha256"`` (``JCS_SCHEME``): SHA-256 over the RFC 8785 JSON Canonicalization Scheme,
  which a verifier in any language can reproduce (ECMAScript number formatting, UTF-16 key order).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

import rfc8785

__all__ = [
    "GENESIS_HASH",
    "HASH_SCHEMES",
    "JCS_SCHEME",
    "LEGACY_SCHEME",
    "NumberWatch",
    "UnknownHashScheme",
    "canonical_json",
    "canonical_text",
    "fast_jcs_equivalent",
    "hash_envelope",
    "json_printable_float",
    "sha256_hex",
]

# The first event of every stream links to this value, so "no predecessor" is still a hash.
GENESIS_HASH = "0" * 64

LEGACY_SCHEME: Final = None
JCS_SCHEME: Final = "rfc8785-sha256"
HASH_SCHEMES: Final = (LEGACY_SCHEME, JCS_SCHEME)


class UnknownHashScheme(ValueError):
    def __init__(self, scheme: object) -> None:
        super().__init__(f"unknown hash_scheme {scheme!r} (known: absent, {JCS_SCHEME!r})")
        self.scheme = scheme


def canonical_json(data: Any) -> str:
    """Serialise JSON-compatible data with sorted keys and no insignificant whitespace.

    The legacy scheme's canonical form: two processes that hold the same data must produce the
    same bytes, or chain verification would depend on who wrote the event.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Key order under ``sort_keys`` (code points) and RFC 8785 (UTF-16 units) differs only between
# U+E000..U+FFFF and supplementary characters; ASCII text is checked without the regex.
_UTF16_ORDER_DIFFERS = re.compile(r"[\ue000-\U0010ffff]")
_SAFE_INT_DIGITS = 15


class NumberWatch:
    """``json`` parse hooks that note any number ``json.dumps`` would print unlike RFC 8785.

    Floats: where Python's repr equals the literal, has no exponent and is not integral, repr
    and ECMAScript's Number.toString print the same shortest digits the same way (RFC 8785
    writes integral values without a fraction, so they parse back as ints). Ints: RFC 8785
    refuses magnitudes beyond 2**53 (16 digits and more are sent to the slow path). NaN and
    Infinity are not JSON at all. ``ok`` is reset by the caller before each document.
    """

    __slots__ = ("ok",)

    def __init__(self) -> None:
        self.ok = True

    def on_float(self, literal: str) -> float:
        value = float(literal)
        if repr(value) != literal or "e" in literal or "E" in literal or value.is_integer():
            self.ok = False
        return value

    def on_int(self, literal: str) -> int:
        if len(literal) > _SAFE_INT_DIGITS:
            self.ok = False
        return int(literal)

    def on_constant(self, literal: str) -> float:
        self.ok = False
        return float(literal)

    def decoder(self) -> json.JSONDecoder:
        return json.JSONDecoder(
            parse_float=self.on_float, parse_int=self.on_int, parse_constant=self.on_constant
        )


def fast_jcs_equivalent(text: str, numbers_ok: bool) -> bool:
    """Whether ``json.dumps(sort_keys=True)`` of the parsed ``text`` equals its RFC 8785 form.

    ``numbers_ok`` is a ``NumberWatch``'s verdict on the same parse. Strings escape alike in
    both (``ensure_ascii=False``; lone surrogates cannot come out of UTF-8 text). ``False``
    only means: take the ``rfc8785`` path.
    """
    return numbers_ok and (text.isascii() or _UTF16_ORDER_DIFFERS.search(text) is None)


def canonical_text(data: Any, scheme: str | None) -> str:
    """The canonical text of ``data`` under ``scheme`` (what is stored and what is hashed)."""
    if scheme is LEGACY_SCHEME:
        return canonical_json(data)
    if scheme == JCS_SCHEME:
        try:
            # Most envelopes print identically through the C json encoder once integral floats
            # are ints; the pure-Python rfc8785 serialiser is several times slower.
            return canonical_json(_as_json_printable(data))
        except _NeedsRfc8785:
            pass
        try:
            return rfc8785.dumps(data).decode("utf-8")
        except rfc8785.IntegerDomainError:
            # RFC 8785 numbers are IEEE doubles: 1e16 is written "10000000000000000" and parses
            # back as a Python int beyond 2**53. Read it as the double it denotes, as any other
            # RFC 8785 implementation would.
            return rfc8785.dumps(_as_doubles(data)).decode("utf-8")
    raise UnknownHashScheme(scheme)


_SAFE_INT = 2**53 - 1


class _NeedsRfc8785(Exception):
    pass


def _as_json_printable(value: Any) -> Any:
    """A copy of ``value`` that ``canonical_json`` prints exactly as RFC 8785 would.

    Integral floats below 2**53 become ints (RFC 8785 writes them without a fraction); any
    value on which the two could still differ (an exponent, a big integer, a key that sorts
    differently in UTF-16, a non-JSON type) raises ``_NeedsRfc8785``.
    """
    cls = value.__class__
    if cls is str or cls is bool or value is None:
        return value
    if cls is int:
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        raise _NeedsRfc8785
    if cls is float:
        printable = json_printable_float(value)
        if printable is None:
            raise _NeedsRfc8785
        return printable
    if cls is dict:
        out = {}
        for key, item in value.items():
            if key.__class__ is not str or (
                not key.isascii() and _UTF16_ORDER_DIFFERS.search(key) is not None
            ):
                raise _NeedsRfc8785
            out[key] = _as_json_printable(item)
        return out
    if cls is list or cls is tuple:
        return [_as_json_printable(item) for item in value]
    raise _NeedsRfc8785


def json_printable_float(value: float) -> float | int | None:
    """What ``json.dumps`` must be given to print ``value`` exactly as RFC 8785 writes it, or
    None where only the ``rfc8785`` serialiser does.

    An integral value below 2**53 is written without a fraction (the int); a float whose
    ``repr`` has no exponent prints the same shortest digits in both (itself). 2.0**53 and up
    (json "9007199254740992.0", RFC 8785 "9007199254740992"), exponents, inf and nan: None.
    """
    if value.is_integer():
        return int(value) if -_SAFE_INT <= value <= _SAFE_INT else None
    text = repr(value)
    return None if "e" in text or "n" in text else value


def _as_doubles(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _as_doubles(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_as_doubles(v) for v in data]
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > _SAFE_INT:
        return float(data)
    return data


def hash_envelope(envelope: dict[str, Any]) -> str:
    """SHA-256 (hex) of the envelope without ``hash``, under the scheme the envelope names."""
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return sha256_hex(canonical_text(body, body.get("hash_scheme")))
