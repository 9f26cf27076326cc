"""PHI encrypted in Temporal: an AES-256-GCM payload codec on top of the pydantic converter.

Every payload the project sends through Temporal (workflow inputs, update and signal
arguments, query and update results, activity inputs and results, and failure messages and
stack traces through the encoded-attributes failure converter) is encrypted before it leaves
the process, so the Temporal server, its database and anyone reading the UI without the codec
endpoint see ciphertext. The key id travels in the payload's metadata; decoding accepts every
key of the keyring (rotation), and passes unencrypted payloads through unchanged, so
histories written before encryption still replay and old workflows still run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from domain.signing import Keyring
from system.keys import load_keyring

__all__ = [
    "ENCODING",
    "EncryptionCodec",
    "PayloadKeyError",
    "default_data_converter",
    "encrypted_data_converter",
]

ENCODING = b"binary/encrypted"
CIPHER = b"AES256-GCM"
_KEY_ID = "encryption-key-id"
_NONCE = 12


class PayloadKeyError(ValueError):
    """A payload encrypted under a key this process does not hold, or altered."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        for key_id, secret in keyring.keys.items():
            if len(secret) != 32:
                raise ValueError(f"payload key {key_id!r}: AES-256 needs exactly 32 bytes")
        self.keyring = keyring
        self._ciphers = {key_id: AESGCM(secret) for key_id, secret in keyring.keys.items()}

    @staticmethod
    def _aad(key_id: str) -> bytes:
        # Binds the ciphertext to its key id: a payload relabelled with another id fails.
        return b"jy231-payload:" + key_id.encode()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self.keyring.active
        cipher = self._ciphers[key_id]
        out = []
        for payload in payloads:
            nonce = os.urandom(_NONCE)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self._aad(key_id))
            out.append(
                Payload(
                    metadata={
                        "encoding": ENCODING,
                        "encryption-cipher": CIPHER,
                        _KEY_ID: key_id.encode(),
                    },
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                # Written before encryption was switched on: readable as it is.
                out.append(payload)
                continue
            key_id = payload.metadata.get(_KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise PayloadKeyError(f"payload encrypted with unknown key {key_id!r}")
            data = payload.data
            try:
                clear = cipher.decrypt(data[:_NONCE], data[_NONCE:], self._aad(key_id))
            except InvalidTag:
                raise PayloadKeyError(f"payload under key {key_id!r} does not decrypt") from None
            out.append(Payload.FromString(clear))
        return out


def encrypted_data_converter(keyring: Keyring) -> DataConverter:
    """The pydantic converter with the codec, failures encoded (and so encrypted) too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def default_data_converter() -> DataConverter:
    """This process's converter: encrypted with the configured payload keys."""
    return encrypted_data_converter(load_keyring("payload"))
