"""The write_checkpoint activity: verify the store, sign its Merkle root, publish it.

The key is read on every run (from a file or the environment, never from the event store), so a
rotated key is picked up without restarting the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from audit.checkpoint import (
    CheckpointConfig,
    CheckpointKeyError,
    CheckpointLog,
    FileNotary,
    Notary,
    load_signing_key,
)
from audit.proofs import CheckpointRefused, take_checkpoint
from store.base import EventStore

__all__ = ["CheckpointActivities", "CheckpointWritten"]

log = structlog.get_logger(__name__)


class CheckpointWritten(BaseModel):
    model_config = ConfigDict(frozen=True)

    tree_size: int
    root: str
    time: str
    key_id: str


class CheckpointActivities:
    """Bound to one store and one checkpoint configuration (chosen by the worker)."""

    def __init__(
        self,
        store: EventStore,
        config: CheckpointConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._config = config
        self._clock = clock

    def _write(self) -> CheckpointWritten:
        config = self._config
        key = load_signing_key(config)
        notaries: tuple[Notary, ...] = (
            (FileNotary(config.notary_file),) if config.notary_file is not None else ()
        )
        checkpoint = take_checkpoint(
            self._store, key, CheckpointLog(config.log_dir), config.log_id, self._clock(), notaries
        )
        log.info(
            "checkpoint written",
            tree_size=checkpoint.tree_size,
            root=checkpoint.root,
            key_id=checkpoint.key_id,
        )
        return CheckpointWritten(
            tree_size=checkpoint.tree_size,
            root=checkpoint.root,
            time=checkpoint.time,
            key_id=checkpoint.key_id,
        )

    @activity.defn(name="write_checkpoint")
    async def write_checkpoint(self) -> CheckpointWritten:
        try:
            return await asyncio.to_thread(self._write)
        except CheckpointKeyError as exc:
            raise ApplicationError(
                str(exc), type="CheckpointKeyMissing", non_retryable=True
            ) from exc
        except CheckpointRefused as exc:
            # A store that does not verify must not be signed; retrying will not fix it.
            log.error("checkpoint refused: the store does not verify", problems=str(exc))
            raise ApplicationError(str(exc), type="CheckpointRefused", non_retryable=True) from exc
