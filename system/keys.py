"""Where the secrets come from: the submission-signing keys and the payload-encryption keys.

Each is a keyring (key id -> secret; one active key signs or encrypts, every listed key verifies
or decrypts), read from, in order:

1. an environment variable holding ``id:hex[,id:hex...]`` (the first id is active):
   ``JY231_SUBMISSION_KEYS`` / ``JY231_PAYLOAD_KEYS``;
2. a TOML key file, ``JY231_KEYS_FILE`` or ``<data dir>/keys.toml``::

       [submission]
       active = "s2"
       keys = { s1 = "<64 hex>", s2 = "<64 hex>" }
       [payload]
       active = "p1"
       keys = { p1 = "<64 hex>" }

``make run`` writes a fresh dev key file when there is none and says so. The secrets never leave
this process except inside the keyring objects, whose repr hides them.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

from domain.signing import Keyring
from system.config import Settings, load_settings

__all__ = [
    "KEYS_FILE_NAME",
    "KeyConfigError",
    "ensure_dev_key_file",
    "keys_file",
    "load_keyring",
    "parse_inline",
]

KEYS_FILE_NAME = "keys.toml"
Purpose = Literal["submission", "payload"]
_ENV: dict[Purpose, str] = {
    "submission": "JY231_SUBMISSION_KEYS",
    "payload": "JY231_PAYLOAD_KEYS",
}


class KeyConfigError(RuntimeError):
    """No usable key: the message names the setting to fix (and never a secret)."""


def parse_inline(text: str, source: str) -> Keyring:
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        key_id, sep, hex_secret = item.partition(":")
        if not sep or not key_id:
            raise KeyConfigError(f"{source}: use id:hex[,id:hex...]")
        keys[key_id] = _secret(hex_secret, f"{source} key {key_id!r}")
    if not keys:
        raise KeyConfigError(f"{source} is empty")
    return _keyring(next(iter(keys)), keys, source)


def _secret(hex_secret: str, where: str) -> bytes:
    try:
        return bytes.fromhex(hex_secret.strip())
    except ValueError:
        raise KeyConfigError(f"{where}: not hexadecimal") from None


def _keyring(active: str, keys: dict[str, bytes], source: str) -> Keyring:
    try:
        return Keyring(active=active, keys=keys)
    except ValueError as exc:
        raise KeyConfigError(f"{source}: {exc}") from None


def keys_file(settings: Settings, env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    named = env.get("JY231_KEYS_FILE")
    return Path(named).resolve() if named else settings.data_dir / KEYS_FILE_NAME


def load_keyring(
    purpose: Purpose, settings: Settings | None = None, env: dict[str, str] | None = None
) -> Keyring:
    env = dict(os.environ if env is None else env)
    inline = env.get(_ENV[purpose])
    if inline:
        return parse_inline(inline, _ENV[purpose])
    path = keys_file(settings or load_settings(env), env)
    if not path.exists():
        raise KeyConfigError(
            f"no {purpose} key: set {_ENV[purpose]} or write {path} "
            "(`make run` creates a development key file)"
        )
    with path.open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh)
    section = raw.get(purpose)
    if not isinstance(section, dict) or not isinstance(section.get("keys"), dict):
        raise KeyConfigError(f"{path}: no [{purpose}] section with keys")
    keys = {
        str(key_id): _secret(str(value), f"{path} [{purpose}] {key_id!r}")
        for key_id, value in section["keys"].items()
    }
    active = str(section.get("active") or next(iter(keys), ""))
    return _keyring(active, keys, f"{path} [{purpose}]")


def ensure_dev_key_file(settings: Settings) -> Path | None:
    """Write a key file with fresh random keys if there is none; the path when one was written.

    For one machine only: production keys come from a secret store through the environment.
    """
    path = keys_file(settings)
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Development keys written by `make run`; see README, Security.\n"
        "[submission]\n"
        'active = "dev-s1"\n'
        f'keys = {{ dev-s1 = "{secrets.token_hex(32)}" }}\n'
        "[payload]\n"
        'active = "dev-p1"\n'
        f'keys = {{ dev-p1 = "{secrets.token_hex(32)}" }}\n'
    )
    # Created owner-only from the start: a world-readable moment would be enough to copy it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
