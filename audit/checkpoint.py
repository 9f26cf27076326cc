"""Signed checkpoints of the Merkle log, their key, the append-only checkpoint log and notaries.

A checkpoint is (log id, tree size, root hash, time, key id) signed with Ed25519. The signing key
never lives in the event store: it comes from ``JY231_CHECKPOINT_KEY`` (base64 of the 32-byte
private seed) or the PEM file ``JY231_CHECKPOINT_KEY_FILE`` (default ``.data/checkpoint-key.pem``,
which ``make run`` creates as a demo key). The signed message is plain text, one field a line,
so a verifier in any language rebuilds it byte for byte::

    jy231-checkpoint/1
    <log id>
    <tree size>
    <root, 64 hex digits>
    <time, YYYY-MM-DDTHH:MM:SSZ>
    <key id, 16 hex digits: SHA-256 of the raw public key, first 8 bytes>

The checkpoint log is a directory outside the store: ``checkpoints.jsonl`` (one checkpoint a
line) and ``leaves.jsonl`` (every leaf a checkpoint covered, with its stream and seq, so verify
can name the first event that differs). Notaries receive each checkpoint as well; the shipped
one appends to a file the database administrator cannot write (``JY231_CHECKPOINT_NOTARY_FILE``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointConfig",
    "CheckpointKeyError",
    "CheckpointLog",
    "FileNotary",
    "JournalEntry",
    "Notary",
    "SigningKey",
    "checkpoint_config",
    "create_demo_key",
    "format_time",
    "key_id_of",
    "load_public_key",
    "load_signing_key",
    "public_hex",
]

CHECKPOINT_FORMAT = "jy231-checkpoint/1"
DEFAULT_LOG_ID = "jy231-NCT06243159"


class CheckpointKeyError(Exception):
    """The checkpoint key is missing or unreadable; the message says which setting to fix."""


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_hex(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str = CHECKPOINT_FORMAT
    log_id: str
    tree_size: int
    root: str
    time: str
    key_id: str
    # Ed25519 signature over ``signed_message()``, base64.
    signature: str

    def signed_message(self) -> bytes:
        return (
            f"{self.format}\n{self.log_id}\n{self.tree_size}\n{self.root}\n{self.time}\n"
            f"{self.key_id}\n"
        ).encode()

    def verify_signature(self, public: Ed25519PublicKey) -> str | None:
        """None when the signature holds for ``public``; else what is wrong."""
        if self.format != CHECKPOINT_FORMAT:
            return f"unknown checkpoint format {self.format!r}"
        if key_id_of(public) != self.key_id:
            return (
                f"checkpoint was signed by key {self.key_id}, the trusted key is "
                f"{key_id_of(public)}"
            )
        try:
            public.verify(base64.b64decode(self.signature), self.signed_message())
        except (InvalidSignature, ValueError):
            return "the checkpoint's signature does not verify: it was altered or forged"
        return None

    def to_line(self) -> str:
        return json.dumps(self.model_dump(), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    def sign(self, log_id: str, tree_size: int, root: bytes, moment: datetime) -> Checkpoint:
        unsigned = Checkpoint(
            log_id=log_id,
            tree_size=tree_size,
            root=root.hex(),
            time=format_time(moment),
            key_id=self.key_id,
            signature="",
        )
        signature = self.private.sign(unsigned.signed_message())
        return unsigned.model_copy(update={"signature": base64.b64encode(signature).decode()})


@dataclass(frozen=True)
class CheckpointConfig:
    log_dir: Path
    key_file: Path
    key_env: str | None
    notary_file: Path | None
    log_id: str


def checkpoint_config(data_dir: Path, env: dict[str, str] | None = None) -> CheckpointConfig:
    values = dict(os.environ if env is None else env)
    notary = values.get("JY231_CHECKPOINT_NOTARY_FILE")
    return CheckpointConfig(
        log_dir=Path(values.get("JY231_CHECKPOINT_DIR", data_dir / "checkpoints")).resolve(),
        key_file=Path(
            values.get("JY231_CHECKPOINT_KEY_FILE", data_dir / "checkpoint-key.pem")
        ).resolve(),
        key_env=values.get("JY231_CHECKPOINT_KEY") or None,
        notary_file=Path(notary).resolve() if notary else None,
        log_id=values.get("JY231_CHECKPOINT_LOG_ID", DEFAULT_LOG_ID),
    )


def load_signing_key(config: CheckpointConfig) -> SigningKey:
    if config.key_env is not None:
        try:
            seed = base64.b64decode(config.key_env, validate=True)
            return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))
        except ValueError:
            raise CheckpointKeyError(
                "JY231_CHECKPOINT_KEY must be the base64 of a 32-byte Ed25519 private key"
            ) from None
    if not config.key_file.exists():
        raise CheckpointKeyError(
            f"no checkpoint signing key at {config.key_file} (set JY231_CHECKPOINT_KEY_FILE "
            "or JY231_CHECKPOINT_KEY; `make run` creates a demo key)"
        )
    try:
        private = serialization.load_pem_private_key(config.key_file.read_bytes(), password=None)
    except ValueError as exc:
        raise CheckpointKeyError(f"{config.key_file} is not a PEM private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise CheckpointKeyError(f"{config.key_file} holds a {type(private).__name__}, not Ed25519")
    return SigningKey(private)


def create_demo_key(path: Path) -> bool:
    """Create an Ed25519 key at ``path`` (and ``path.pub``) unless one exists; True if created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    path.with_suffix(".pub").write_text(public_hex(private.public_key()) + "\n")
    return True


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A trusted public key: 64 hex digits (as ``make run`` writes it), PEM, or a private key."""
    data = path.read_bytes()
    text = data.decode("ascii", errors="replace").strip()
    if len(text) == 64:
        try:
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        except ValueError:
            pass
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if isinstance(private, Ed25519PrivateKey):
            return private.public_key()
    else:
        public = serialization.load_pem_public_key(data)
        if isinstance(public, Ed25519PublicKey):
            return public
    raise CheckpointKeyError(f"{path} holds no Ed25519 public key")


class Notary(Protocol):
    """Somewhere a checkpoint is sent that the database administrator cannot rewrite."""

    name: str

    def publish(self, checkpoint: Checkpoint) -> None: ...


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class FileNotary:
    """Appends each checkpoint as one JSON line to a file (a WORM mount, another host's share)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file:{path}"

    def publish(self, checkpoint: Checkpoint) -> None:
        _append_line(self.path, checkpoint.to_line())


class JournalEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    stream: str
    seq: int
    leaf: str


class CheckpointLog:
    """The append-only checkpoint log directory (never inside the event store)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.checkpoints_file = directory / "checkpoints.jsonl"
        self.journal_file = directory / "leaves.jsonl"

    def checkpoints(self) -> list[Checkpoint]:
        if not self.checkpoints_file.exists():
            return []
        lines = self.checkpoints_file.read_text(encoding="utf-8").splitlines()
        return [Checkpoint.model_validate_json(line) for line in lines if line.strip()]

    def latest(self) -> Checkpoint | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def journal(self) -> Iterator[JournalEntry]:
        if not self.journal_file.exists():
            return
        with self.journal_file.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield JournalEntry.model_validate_json(line)

    def journal_size(self) -> int:
        if not self.journal_file.exists():
            return 0
        with self.journal_file.open("rb") as handle:
            return sum(1 for line in handle if line.strip())

    def append(
        self,
        checkpoint: Checkpoint,
        leaves: Sequence[bytes],
        places: Sequence[tuple[str, int]],
    ) -> None:
        """Journal the leaves the log does not hold yet, then the checkpoint itself."""
        have = self.journal_size()
        if have < checkpoint.tree_size:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.journal_file.open("a", encoding="utf-8") as handle:
                for index in range(have, checkpoint.tree_size):
                    stream, seq = places[index]
                    entry = JournalEntry(
                        index=index, stream=stream, seq=seq, leaf=leaves[index].hex()
                    )
                    handle.write(entry.model_dump_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        _append_line(self.checkpoints_file, checkpoint.to_line())
