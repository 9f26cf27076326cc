"""Canonical JSON and SHA-256 hashing shared by the event chain and the audit tools."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["GENESIS_HASH", "canonical_json", "sha256_hex"]

# The first event of every stream links to this value, so "no predecessor" is still a hash.
GENESIS_HASH = "0" * 64


def canonical_json(data: Any) -> str:
    """Serialise JSON-compatible data with sorted keys and no insignificant whitespace.

    Two processes that hold the same data must produce the same bytes, or chain
    verification would depend on who wrote the event.
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
