"""The Merkle log agrees with RFC 6962/9162's published vectors and with itself for every size."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    MerkleError,
    RootBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The certificate-transparency reference test data (RFC 6962 leaves and tree heads).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip
CT_CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip

LEAVES = [leaf_hash(d) for d in CT_LEAVES]


def test_tree_heads_match_the_rfc6962_reference_vectors() -> None:
    assert root([]) == EMPTY_ROOT
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert root(LEAVES, size).hex() == expected
        builder = RootBuilder()
        for leaf in LEAVES[:size]:
            builder.add(leaf)
        assert builder.root().hex() == expected


@pytest.mark.parametrize(("index", "size"), list(CT_PATHS))
def test_inclusion_proofs_match_the_reference_vectors(index: int, size: int) -> None:
    path = inclusion_proof(LEAVES, index, size)

    assert [p.hex() for p in path] == CT_PATHS[(index, size)]
    verify_inclusion(LEAVES[index], index, size, path, bytes.fromhex(CT_ROOTS[size - 1]))


@pytest.mark.parametrize(("first", "second"), list(CT_CONSISTENCY))
def test_consistency_proofs_match_the_reference_vectors(first: int, second: int) -> None:
    path = consistency_proof(LEAVES, first, second)

    assert [p.hex() for p in path] == CT_CONSISTENCY[(first, second)]
    verify_consistency(
        first, second, bytes.fromhex(CT_ROOTS[first - 1]), bytes.fromhex(CT_ROOTS[second - 1]),
        path,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_proof_of_every_size_verifies_and_a_changed_leaf_fails(
    size: int, data: st.DataObject
) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    first = data.draw(st.integers(min_value=1, max_value=size))
    full = root(leaves)
    builder = RootBuilder()
    for leaf in leaves:
        builder.add(leaf)
    assert builder.root() == full

    verify_inclusion(leaves[index], index, size, inclusion_proof(leaves, index), full)
    proof = consistency_proof(leaves, first, size)
    verify_consistency(first, size, root(leaves, first), full, proof)

    forged = [*leaves]
    forged[index] = leaf_hash(b"forged")
    with pytest.raises(MerkleError):
        verify_inclusion(forged[index], index, size, inclusion_proof(leaves, index), full)
    if index < first:
        # The old tree covered the changed leaf: no proof from the forged log reaches its root.
        with pytest.raises(MerkleError):
            verify_consistency(
                first, size, root(leaves, first), root(forged),
                consistency_proof(forged, first, size),
            )  # fmt: skip


def test_a_proof_for_a_leaf_outside_the_tree_is_refused() -> None:
    with pytest.raises(MerkleError, match="not in a tree of size 8"):
        inclusion_proof(LEAVES, 8)
    with pytest.raises(MerkleError, match="not below tree size"):
        verify_inclusion(LEAVES[0], 8, 8, [], EMPTY_ROOT)
    with pytest.raises(MerkleError, match="cannot extend"):
        verify_consistency(5, 4, EMPTY_ROOT, EMPTY_ROOT, [])
