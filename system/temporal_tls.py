"""How this process reaches a production Temporal: TLS, mutual TLS, API keys (Temporal Cloud).

Read from the environment by every client this project opens (web app, worker, CLI):

| setting | meaning |
|---|---|
| ``TEMPORAL_TLS=1`` | use TLS (on by itself when any of the below is set) |
| ``TEMPORAL_TLS_CA`` | PEM of the CA of the server's certificate (default: system roots) |
| ``TEMPORAL_TLS_CERT`` / ``TEMPORAL_TLS_KEY`` | PEM client certificate and key: mutual TLS |
| ``TEMPORAL_TLS_SERVER_NAME`` | the name to check the server certificate against (SNI) |
| ``TEMPORAL_API_KEY`` | an API key (Temporal Cloud); sent as a bearer credential over TLS |
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator
from temporalio.service import TLSConfig

__all__ = ["TemporalSecurity", "load_temporal_security"]


class TemporalSecurity(BaseModel):
    model_config = ConfigDict(frozen=True)

    tls: bool = False
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None
    # Kept out of repr: settings objects end up in logs and tracebacks.
    api_key: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _consistent(self) -> TemporalSecurity:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS)")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.tls or any(
            v is not None for v in (self.ca_cert, self.client_cert, self.server_name, self.api_key)
        )

    def tls_config(self) -> TLSConfig | bool:
        if not self.uses_tls:
            return False
        return TLSConfig(
            server_root_ca_cert=self.ca_cert.read_bytes() if self.ca_cert else None,
            client_cert=self.client_cert.read_bytes() if self.client_cert else None,
            client_private_key=self.client_key.read_bytes() if self.client_key else None,
            domain=self.server_name,
        )


def load_temporal_security(env: dict[str, str] | None = None) -> TemporalSecurity:
    env = dict(os.environ if env is None else env)

    def path(name: str) -> Path | None:
        value = env.get(name)
        return Path(value) if value else None

    return TemporalSecurity(
        tls=env.get("TEMPORAL_TLS", "0").strip().lower() in {"1", "true", "yes", "on"},
        ca_cert=path("TEMPORAL_TLS_CA"),
        client_cert=path("TEMPORAL_TLS_CERT"),
        client_key=path("TEMPORAL_TLS_KEY"),
        server_name=env.get("TEMPORAL_TLS_SERVER_NAME") or None,
        api_key=env.get("TEMPORAL_API_KEY") or None,
    )
