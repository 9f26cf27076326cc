"""A structlog processor that takes secrets out of every log line before it is rendered.

Secrets reach logs in three ways: as a field (``password=...``, ``headers={...}``), inside a
message or an exception text (``Authorization: Basic ...``, a cookie header, a token), and in
tracebacks that print local variables (those are switched off in ``system.logging``). This
handles the first two, for our own log calls and for the standard-library loggers (uvicorn,
Temporal) routed through structlog.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

__all__ = [
    "REDACTED",
    "begin_request_secrets",
    "redact",
    "redact_secrets",
    "redact_text",
    "remember_secret",
]

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|authorization|cookie|credential|api[_-]?key|"
    r"session|private[_-]?key|signature|\bmac\b|csrf)",
    re.IGNORECASE,
)
# Values that are secrets wherever they appear in a text.
_PATTERNS = [
    # Authorization: Basic/Bearer <value>, in headers, reprs and f-strings alike.
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    # Our API tokens and session cookies.
    (re.compile(r"\bjy231_[0-9a-f]{6,}_[A-Za-z0-9_-]{10,}"), REDACTED),
    (re.compile(r"(?i)(jy231_session=)[^;\s'\"]+"), r"\1" + REDACTED),
    # key=value / key: value / 'key': 'value' where the key names a secret.
    (
        re.compile(
            r"""(?ix)
            (\b[\w-]*(?:pass(?:word|wd|phrase)?|secret|token|authorization|cookie|api[_-]?key|
               credentials?)[\w-]*['"]?\s*[=:]\s*)
            (?!(?:basic|bearer)\s)(?!'?\[redacted\])
            (b?['"][^'"]*['"]|[^\s,)}\]]+)
            """
        ),
        r"\1" + "'" + REDACTED + "'",
    ),
]


# The credentials of the request being handled (its password, token, Basic header value):
# replaced wherever they appear, whatever the surrounding text. A list shared by reference, so
# what the authentication code (in a child task or thread) adds is seen by the error handlers
# and the server's own logging further out.
_REQUEST_SECRETS: ContextVar[list[str] | None] = ContextVar("request_secrets", default=None)


def begin_request_secrets() -> None:
    """Start an empty secret list for this request (call at the outermost layer)."""
    _REQUEST_SECRETS.set([])


def remember_secret(*values: str) -> None:
    found = _REQUEST_SECRETS.get()
    if found is not None:
        # Very short values would blank common words; policy keeps passwords long anyway.
        found.extend(v for v in values if len(v) >= 6)


def redact_text(text: str) -> str:
    for secret in _REQUEST_SECRETS.get() or ():
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else redact(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, depth + 1) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else is rendered later from its text: replaced only when that text holds one.
    text = repr(value)
    cleaned = redact_text(text)
    return value if cleaned == text else cleaned


def redact_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog processor: secret-named fields blanked, secrets in texts replaced."""
    for key in list(event_dict):
        if key in {"exc_info", "stack_info"}:
            continue
        value = event_dict[key]
        if key not in {"event", "exception"} and _SECRET_KEY.search(key):
            event_dict[key] = REDACTED
        elif key in {"_record", "_from_structlog"}:
            continue
        else:
            event_dict[key] = redact(value)
    return event_dict
