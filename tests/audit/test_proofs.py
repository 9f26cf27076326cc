"""Checkpoints, `verify --checkpoint`, `prove`, and the stand-alone verifier on their output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from audit.checkpoint import CheckpointLog, create_demo_key
from cli.main import app
from store.sql import SqlEventStore
from tests.audit.tamper import grow
from tools import verify_proof

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "tools" / "verify_proof.py"


@pytest.fixture
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo key and a checkpoint log under tmp_path, configured through the environment."""
    key = tmp_path / "keys" / "checkpoint-key.pem"
    assert create_demo_key(key)
    monkeypatch.setenv("JY231_CHECKPOINT_KEY_FILE", str(key))
    monkeypatch.setenv("JY231_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("JY231_CHECKPOINT_NOTARY_FILE", str(tmp_path / "notary" / "cp.jsonl"))
    return key


def _trial(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _url(store: SqlEventStore) -> str:
    return store.url.render_as_string(hide_password=False)


def _standalone(proof: Path, key: Path) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter with no project on the path: the script must need nothing else.
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(proof), "--public-key",
         str(key.with_suffix(".pub"))],
        capture_output=True, text=True, cwd=proof.parent, check=False,
    )  # fmt: skip


def test_checkpoint_then_growth_verifies_and_both_proofs_pass_the_standalone_verifier(
    audit_store: SqlEventStore, keyed: Path, tmp_path: Path
) -> None:
    url = _url(audit_store)
    first = tmp_path / "auditor-copy.json"
    taken = _trial("audit", "checkpoint", "--out", str(first), "--store-url", url)
    assert taken.exit_code == 0, taken.output
    grow(audit_store)
    assert _trial("audit", "checkpoint", "--store-url", url).exit_code == 0

    consistency = tmp_path / "consistency.json"
    verified = _trial(
        "audit", "verify", "--checkpoint", str(first), "--proof-out", str(consistency),
        "--json", "--store-url", url,
    )  # fmt: skip
    inclusion = tmp_path / "inclusion.json"
    proved = _trial("audit", "prove", "S-001", "10", "--out", str(inclusion), "--store-url", url)

    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["clean"] is True
    assert proved.exit_code == 0, proved.output
    for proof in (consistency, inclusion):
        result = _standalone(proof, keyed)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("OK:")
    assert json.loads(consistency.read_text())["new"]["signature"]
    notary = (tmp_path / "notary" / "cp.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in notary] == [
        c.model_dump() for c in CheckpointLog(tmp_path / "checkpoints").checkpoints()
    ]


def test_the_standalone_verifier_rejects_an_edited_event_or_a_forged_checkpoint(
    audit_store: SqlEventStore, keyed: Path, tmp_path: Path
) -> None:
    url = _url(audit_store)
    assert _trial("audit", "checkpoint", "--store-url", url).exit_code == 0
    proof = tmp_path / "inclusion.json"
    assert _trial("audit", "prove", "S-001", "6", "--out", str(proof), "--store-url", url)
    document = json.loads(proof.read_text())

    edited = {**document, "event": {**document["event"], "reason": "edited"}}
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    forged = {**document, "checkpoint": {**document["checkpoint"], "tree_size": 99}}
    (tmp_path / "forged.json").write_text(json.dumps(forged))

    assert "hashes to" in _standalone(tmp_path / "edited.json", keyed).stdout
    assert "signature does not verify" in _standalone(tmp_path / "forged.json", keyed).stdout


def test_prove_without_a_checkpoint_says_how_to_take_one(
    audit_store: SqlEventStore, keyed: Path
) -> None:
    result = _trial("audit", "prove", "S-001", "1", "--store-url", _url(audit_store))

    assert result.exit_code == 2
    assert "trial audit checkpoint" in result.output


def test_checkpoint_without_a_key_names_the_settings(
    audit_store: SqlEventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JY231_CHECKPOINT_KEY_FILE", str(tmp_path / "none.pem"))
    monkeypatch.delenv("JY231_CHECKPOINT_KEY", raising=False)

    result = _trial("audit", "checkpoint", "--store-url", _url(audit_store))

    assert result.exit_code == 2
    assert "JY231_CHECKPOINT_KEY_FILE" in result.output


_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_json)
def test_the_standalone_rfc8785_serialiser_agrees_with_the_rfc8785_package(data: Any) -> None:
    expected_input = _as_doubles(data)

    assert verify_proof.jcs(data) == rfc8785.dumps(expected_input).decode("utf-8")


def _as_doubles(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _as_doubles(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_as_doubles(v) for v in data]
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > 2**53 - 1:
        return float(data)
    return data


def test_the_standalone_ed25519_check_agrees_with_cryptography() -> None:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    signature = private.sign(b"jy231-checkpoint/1\n")

    assert verify_proof.ed25519_verify(public, b"jy231-checkpoint/1\n", signature)
    assert not verify_proof.ed25519_verify(public, b"jy231-checkpoint/2\n", signature)
    assert not verify_proof.ed25519_verify(public, b"jy231-checkpoint/1\n", bytes(64))
