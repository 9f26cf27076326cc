"""Settings from the environment, with embedded defaults that run on one machine."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["Settings", "load_settings"]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # None means: start the embedded Temporal dev server ourselves.
    temporal_address: str | None
    temporal_namespace: str
    task_queue: str
    data_dir: Path
    event_store_url: str
    log_format: str
    web_host: str
    web_port: int
    temporal_port: int
    temporal_ui_port: int
    users_file: Path
    # Dose-level cohorts (3+3, sentinel staggering) gate each subject's lymphodepletion.
    study_gating: bool = True


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("JY231_DATA_DIR", ".data")).resolve()
    return Settings(
        temporal_address=env.get("TEMPORAL_ADDRESS") or None,
        temporal_namespace=env.get("TEMPORAL_NAMESPACE", "default"),
        task_queue=env.get("JY231_TASK_QUEUE", "jy231-subjects"),
        data_dir=data_dir,
        event_store_url=env.get("EVENT_STORE_URL", f"sqlite:///{data_dir / 'events.db'}"),
        log_format=env.get("LOG_FORMAT", "console"),
        web_host=env.get("WEB_HOST", "127.0.0.1"),
        web_port=int(env.get("WEB_PORT", "8000")),
        temporal_port=int(env.get("TEMPORAL_PORT", "7233")),
        temporal_ui_port=int(env.get("TEMPORAL_UI_PORT", "8233")),
        users_file=Path(env.get("JY231_USERS_FILE", "config/users.toml")).resolve(),
        study_gating=_flag(env.get("JY231_STUDY_GATING", "1"), "JY231_STUDY_GATING"),
    )


def _flag(value: str, name: str) -> bool:
    # Strict on purpose: a typo must not silently switch off the trial's safety gating.
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={value!r}: use 1 (on) or 0 (off)")
