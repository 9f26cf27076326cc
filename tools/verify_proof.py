#!/usr/bin/env python3
"""Check a JY231 audit proof with nothing but the Python standard library.

    python3 verify_proof.py PROOF.json --public-key checkpoint-key.pub

PROOF.json comes from ``trial audit prove SUBJECT SEQ`` (an inclusion proof: this event is in
the log the checkpoint signed) or ``trial audit verify --checkpoint OLD --proof-out PROOF.json``
(a consistency proof: the log of today extends the old checkpoint's log unchanged). The public
key is the checkpoint key's 32 raw bytes in hex, obtained from the sponsor out of band; never
trust a key that came with the proof.

What is checked (formats in audit/proofs.py and audit/checkpoint.py of the project):
- every checkpoint's Ed25519 signature (RFC 8032) over its text message;
- for an event: its SHA-256 recomputed from the envelope (sorted-keys JSON when the envelope
  names no ``hash_scheme``; RFC 8785 JSON Canonicalization for ``rfc8785-sha256``), its Merkle
  leaf SHA-256(0x00 || hash) and the RFC 9162 inclusion path to the checkpoint's root;
- for two tree heads: the RFC 9162 consistency proof.

Exit 0 when everything holds, 1 when anything fails (the reason is printed), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

CHECKPOINT_FORMAT = "jy231-checkpoint/1"
JCS_SCHEME = "rfc8785-sha256"


class ProofError(Exception):
    pass


# -- RFC 8785 JSON Canonicalization Scheme ---------------------------------------------------


def _jcs_number(value: float) -> str:
    """ECMAScript Number::toString of a double (RFC 8785 section 3.2.2.3)."""
    if math.isnan(value) or math.isinf(value):
        raise ProofError("NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + _jcs_number(-value)
    # repr gives the shortest digits that round-trip, as ECMAScript requires.
    _, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def jcs(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value) if abs(value) <= 2**53 - 1 else _jcs_number(float(value))
    if isinstance(value, float):
        return _jcs_number(value)
    if isinstance(value, str):
        # Python escapes exactly the characters RFC 8785 does, with lowercase \\u00xx.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise ProofError(f"not JSON: {type(value).__name__}")


def event_hash(envelope: dict[str, Any]) -> str:
    body = {k: v for k, v in envelope.items() if k != "hash"}
    scheme = body.get("hash_scheme")
    if scheme is None:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    elif scheme == JCS_SCHEME:
        text = jcs(body)
    else:
        raise ProofError(f"unknown hash_scheme {scheme!r}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- RFC 9162 Merkle proofs --------------------------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> None:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion path too long")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise ProofError("the inclusion path does not lead to the checkpoint's root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> None:
    if not 0 < first <= second:
        raise ProofError(f"size {second} cannot extend size {first}")
    if first == second:
        if path or first_root != second_root:
            raise ProofError("same size, different roots")
        return
    proof = ([first_root] if first & (first - 1) == 0 else []) + list(path)
    if not proof:
        raise ProofError("empty consistency proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise ProofError("the consistency proof does not join the two roots")


# -- Ed25519 verification (RFC 8032 section 5.1.7; the section 6 reference arithmetic) --------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_Point = tuple[int, int, int, int]


def _add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % _P
    bb = (y1 + x1) * (y2 + x2) % _P
    cc = t1 * 2 * _D * t2 % _P
    dd = z1 * 2 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _mul(scalar: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _decompress(data: bytes) -> _Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        if sign:
            return None
        return 0, y, 1, 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x, y, 1, x * y % _P


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = _decompress(_GY.to_bytes(32, "little"))


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64 or _G is None:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little")
    left = _mul(s, _G)
    right = _add(r, _mul(h % _L, a))
    return (left[0] * right[2] - right[0] * left[2]) % _P == 0 and (
        left[1] * right[2] - right[1] * left[2]
    ) % _P == 0


# -- checkpoints and proof documents -----------------------------------------------------------


def check_checkpoint(checkpoint: dict[str, Any], public: bytes) -> None:
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ProofError(f"unknown checkpoint format {checkpoint.get('format')!r}")
    key_id = hashlib.sha256(public).hexdigest()[:16]
    if checkpoint["key_id"] != key_id:
        raise ProofError(f"checkpoint key {checkpoint['key_id']} is not the trusted key {key_id}")
    message = (
        f"{checkpoint['format']}\n{checkpoint['log_id']}\n{checkpoint['tree_size']}\n"
        f"{checkpoint['root']}\n{checkpoint['time']}\n{checkpoint['key_id']}\n"
    ).encode()
    if not ed25519_verify(public, message, base64.b64decode(checkpoint["signature"])):
        raise ProofError("the checkpoint's Ed25519 signature does not verify")


def check_inclusion(document: dict[str, Any], public: bytes) -> str:
    checkpoint, event = document["checkpoint"], document["event"]
    check_checkpoint(checkpoint, public)
    digest = event_hash(event)
    if digest != event["hash"]:
        raise ProofError(f"the event's content hashes to {digest}, not to its hash field")
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()
    verify_inclusion(
        leaf,
        int(document["leaf_index"]),
        int(checkpoint["tree_size"]),
        [bytes.fromhex(p) for p in document["audit_path"]],
        bytes.fromhex(checkpoint["root"]),
    )
    return (
        f"OK: {event['stream']} seq {event['seq']} ({event['type']}) is log entry "
        f"{document['leaf_index']} of the {checkpoint['tree_size']} signed at "
        f"{checkpoint['time']} by key {checkpoint['key_id']}"
    )


def check_consistency(document: dict[str, Any], public: bytes) -> str:
    old, new = document["old"], document["new"]
    check_checkpoint(old, public)
    signed = "signature" in new
    if signed:
        check_checkpoint(new, public)
    verify_consistency(
        int(old["tree_size"]),
        int(new["tree_size"]),
        bytes.fromhex(old["root"]),
        bytes.fromhex(new["root"]),
        [bytes.fromhex(p) for p in document["audit_path"]],
    )
    return (
        f"OK: the log of size {new['tree_size']} ({'signed' if signed else 'unsigned'} root "
        f"{new['root'][:16]}…) extends the checkpoint of {old['time']} (size "
        f"{old['tree_size']}) without changing any of its entries"
    )


def check(document: dict[str, Any], public: bytes) -> str:
    kind = document.get("format")
    if kind == "jy231-inclusion-proof/1":
        return check_inclusion(document, public)
    if kind == "jy231-consistency-proof/1":
        return check_consistency(document, public)
    raise ProofError(f"unknown proof format {kind!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proof", type=Path)
    parser.add_argument("--public-key", type=Path, required=True, help="hex of the raw key")
    args = parser.parse_args(argv)
    try:
        public = bytes.fromhex(args.public_key.read_text().strip())
        document = json.loads(args.proof.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(check(document, public))
    except (ProofError, KeyError, ValueError) as exc:
        print(f"FAIL: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
