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
    # host:port of the worker's Prometheus endpoint (Temporal SDK metrics); None switches it off.
    worker_metrics: str | None = "127.0.0.1:9464"
    # Workflows upsert the trial's search attributes (the namespace must have them registered).
    search_attributes: bool = False
    # OTLP/HTTP traces endpoint; None leaves tracing off.
    otel_endpoint: str | None = None
    # Sessions, API tokens, login failure counters and the security log (not trial data).
    security_db_url: str = ""
    # Session cookies only over HTTPS; on behind a TLS-terminating proxy (the compose file).
    secure_cookies: bool = False
    # A dashboard session ends after this many minutes without a request.
    session_idle_minutes: int = 30
    # Browser origins of the Temporal UI, allowed to call the web app's /codec endpoint.
    temporal_ui_origins: tuple[str, ...] = ()
    # How long a web request waits for a command's answer before it answers 202 (pending).
    command_wait_s: float = 20.0


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
        search_attributes=_flag(env.get("JY231_SEARCH_ATTRIBUTES", "0"), "JY231_SEARCH_ATTRIBUTES"),
        worker_metrics=_optional(env.get("JY231_WORKER_METRICS", "127.0.0.1:9464")),
        otel_endpoint=env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None,
        security_db_url=env.get("JY231_SECURITY_DB_URL", f"sqlite:///{data_dir / 'security.db'}"),
        secure_cookies=_flag(env.get("JY231_SECURE_COOKIES", "0"), "JY231_SECURE_COOKIES"),
        session_idle_minutes=int(env.get("JY231_SESSION_IDLE_MINUTES", "30")),
        temporal_ui_origins=_origins(env, int(env.get("TEMPORAL_UI_PORT", "8233"))),
        command_wait_s=float(env.get("JY231_COMMAND_WAIT_S", "20")),
    )


def _optional(value: str) -> str | None:
    return None if value.strip().lower() in {"", "0", "off", "none"} else value.strip()


def _origins(env: dict[str, str], ui_port: int) -> tuple[str, ...]:
    named = env.get("JY231_TEMPORAL_UI_ORIGINS")
    if named is not None:
        return tuple(o.strip().rstrip("/") for o in named.split(",") if o.strip())
    return (f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}")


def _flag(value: str, name: str) -> bool:
    # Strict on purpose: a typo must not silently switch off the trial's safety gating.
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={value!r}: use 1 (on) or 0 (off)")
