"""The Merkle log over all events, as in RFC 9162 (Certificate Transparency 2.0), section 2.1.

Pure and standard-library only. The log's entries are the events' SHA-256 hashes (32 bytes) in
the order of their ``log_index``; since an event hash covers the whole envelope (stream, seq,
payload, ...), a leaf commits to the event. Hashes:

    leaf  = SHA-256(0x00 || entry)
    node  = SHA-256(0x01 || left || right)
    MTH({}) = SHA-256("")

and a tree of n leaves splits at k, the largest power of two smaller than n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "MerkleError",
    "RootBuilder",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


class MerkleError(ValueError):
    """A proof that does not verify, or a request outside the tree."""


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[lo]
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def root(leaves: Sequence[bytes], size: int | None = None) -> bytes:
    """MTH of the first ``size`` leaf hashes (all of them by default).

    Computed level by level, an odd last node carried up unchanged: the same tree as RFC 9162's
    recursive split at the largest power of two, without the recursion.
    """
    n = len(leaves) if size is None else size
    if not 0 <= n <= len(leaves):
        raise MerkleError(f"tree size {n} outside 0..{len(leaves)}")
    if n == 0:
        return EMPTY_ROOT
    level = list(leaves[:n])
    while len(level) > 1:
        paired = [
            _sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class RootBuilder:
    """Streams leaf hashes in and gives the root of everything added so far.

    Keeps the perfect subtrees of the current size (one per set bit), so adding is amortised one
    node hash per leaf and memory is O(log n). MTH is the right fold of those subtrees.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        stack = self._stack
        height, digest = 0, leaf
        while stack and stack[-1][0] == height:
            digest = _sha256(b"\x01" + stack.pop()[1] + digest).digest()
            height += 1
        stack.append((height, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 2.1.3.1: sibling hashes from the leaf up."""
    n = len(leaves) if size is None else size
    if not 0 <= index < n <= len(leaves):
        raise MerkleError(f"leaf {index} is not in a tree of size {n}")
    path: list[bytes] = []
    lo, hi = 0, n
    # Walk down recording siblings, then reverse: the proof lists them leaf first.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(leaves, lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(
    leaves: Sequence[bytes], first: int, second: int | None = None
) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 2.1.4.1."""
    n = len(leaves) if second is None else second
    if not 0 <= first <= n <= len(leaves):
        raise MerkleError(f"no consistency proof from size {first} to size {n}")
    if first in (0, n):
        return []
    return _subproof(leaves, first, 0, n, True)


def _subproof(leaves: Sequence[bytes], m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(leaves, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, lo, lo + k, complete), _mth(leaves, lo + k, hi)]
    return [*_subproof(leaves, m - k, lo + k, hi, False), _mth(leaves, lo, lo + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 2.1.3.2; raises ``MerkleError`` unless the path leads to ``expected_root``."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise MerkleError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("inclusion proof is shorter than the tree is deep")
    if r != expected_root:
        raise MerkleError("inclusion proof does not lead to the expected root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2; raises ``MerkleError`` unless tree ``second`` extends tree ``first``."""
    if not 0 <= first <= second:
        raise MerkleError(f"size {second} cannot extend size {first}")
    if first == 0:
        if path:
            raise MerkleError("a proof from the empty tree must be empty")
        return
    if first == second:
        if path:
            raise MerkleError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise MerkleError("same tree size, different roots")
        return
    proof = list(path)
    if first & (first - 1) == 0:
        proof.insert(0, first_root)
    if not proof:
        raise MerkleError("empty consistency proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise MerkleError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("consistency proof is shorter than the tree is deep")
    if fr != first_root:
        raise MerkleError(f"the first {first} leaves do not hash to the old root")
    if sr != second_root:
        raise MerkleError("the proof does not lead to the new root")
