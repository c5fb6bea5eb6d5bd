"""The http and tcp probes against real servers on 127.0.0.1 (plain and TLS with generated certificates)."""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collectors.base_probe import FAILURE_REASONS, ProbeResult, Recipe, Target, effective_timeout
from collectors.health.loopback import LoopbackServer, Reply
from collectors.probes import PROBES, get_probe


def run(target: Target, recipe: Recipe, timeout: float | None = None) -> ProbeResult:
    kind = get_probe(recipe.kind)
    return asyncio.run(kind(target, recipe, timeout or effective_timeout(target, recipe)))


def target(url: str, interval_s: float = 60.0) -> Target:
    return Target(key="t", system="tthc", name="Hệ thống TTHC", url=url, interval_s=interval_s)


HTTP_2XX = Recipe(name="http_2xx")


@pytest.fixture(scope="module")
def server():
    routes = {
        "/up": Reply(body="Hệ thống hoạt động bình thường".encode()),
        "/json": Reply(body=b'{"status": "ok", "data": {"items": [{"ready": true}]}}', content_type="application/json"),
        "/broken": Reply(status=500, body=b"error"),
        "/slow": Reply(delay_s=30),
        "/drop": Reply(drop=True),
    }
    with LoopbackServer(lambda path: routes.get(path, Reply(status=404, body=b"no"))) as running:
        yield running


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_up_measures_status_and_timings(server):
    result = run(target(server.url("/up")), HTTP_2XX)
    assert result.success and result.failure_reason is None
    assert result.measurements["status_code"] == 200
    assert 0 < result.measurements["connect_s"] <= result.measurements["first_byte_s"] <= result.duration_s


def test_refused_when_nothing_listens():
    result = run(target(f"http://127.0.0.1:{free_port()}/"), HTTP_2XX)
    assert (result.success, result.failure_reason) == (False, "refused")


def test_slow_server_times_out_within_the_interval(server):
    slow = target(server.url("/slow"), interval_s=0.3)
    assert effective_timeout(slow, HTTP_2XX) == 0.3  # recipe says 10 s, the interval wins
    result = run(slow, HTTP_2XX)
    assert (result.success, result.failure_reason) == (False, "timeout")
    assert "connect_s" in result.measurements and "first_byte_s" not in result.measurements


def test_wrong_status(server):
    result = run(target(server.url("/broken")), HTTP_2XX)
    assert (result.failure_reason, result.measurements["status_code"]) == ("status", 500)
    assert "HTTP 500" in result.detail
    accepting = Recipe(name="accept_500", valid_status_codes=(500,))
    assert run(target(server.url("/broken")), accepting).success


def test_closed_without_answer_is_a_status_failure(server):
    assert run(target(server.url("/drop")), HTTP_2XX).failure_reason == "status"


def test_keyword_present_and_missing(server):
    found = Recipe(name="kw", body_keyword="hoạt động bình thường")
    missing = Recipe(name="kw2", body_keyword="bảo trì")
    assert run(target(server.url("/up")), found).success
    result = run(target(server.url("/up")), missing)
    assert (result.failure_reason, result.detail) == ("content", "keyword 'bảo trì' not found in the body")


def test_json_path_match_and_mismatch(server):
    url = server.url("/json")
    assert run(target(url), Recipe(name="j", json_path="$.status", json_expected="ok")).success
    assert run(target(url), Recipe(name="j", json_path="$.data.items[0].ready", json_expected="true")).success
    mismatch = run(target(url), Recipe(name="j", json_path="$.status", json_expected="degraded"))
    assert (mismatch.failure_reason, mismatch.detail) == ("content", "JSON path $.status is 'ok', expected 'degraded'")
    absent = run(target(url), Recipe(name="j", json_path="$.data.items[3]"))
    assert (absent.failure_reason, absent.detail) == ("content", "JSON path $.data.items[3] not found")
    not_json = run(target(server.url("/up")), Recipe(name="j", json_path="$.status"))
    assert (not_json.failure_reason, not_json.detail) == ("content", "body is not valid JSON")


def test_dns_failure_and_bad_url_never_raise():
    assert run(target("http://nonexistent-host.invalid/"), HTTP_2XX).failure_reason == "dns"
    assert run(target("ftp://example/"), HTTP_2XX).failure_reason == "dns"


def test_registry_by_name():
    assert set(PROBES) == {"http", "tcp"}
    with pytest.raises(ValueError, match="Unknown probe kind 'icmp'; use one of: http, tcp"):
        get_probe("icmp")
    with pytest.raises(ValueError, match="failure_reason 'boom'"):
        ProbeResult(False, 0.0, "boom")  # type: ignore[arg-type]
    assert FAILURE_REASONS == ("timeout", "refused", "dns", "tls", "status", "content")


def test_tcp_connect_up_and_refused(server):
    tcp = Recipe(name="tcp_connect", kind="tcp")
    up = run(target(f"tcp://127.0.0.1:{server.port}"), tcp)
    assert up.success and up.measurements["connect_s"] > 0
    assert run(target(f"tcp://127.0.0.1:{free_port()}"), tcp).failure_reason == "refused"
    assert run(target("tcp://127.0.0.1"), tcp).failure_reason == "dns"


# --- TLS ---------------------------------------------------------------------------------------

def make_certificate(tmp_path, name: str, not_before: dt.datetime, not_after: dt.datetime):
    """A self-signed certificate for 127.0.0.1; returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def tls_server(cert_path: str, key_path: str) -> LoopbackServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return LoopbackServer(lambda path: Reply(body=b"ok"), ssl_context=context)


def test_tls_days_to_expiry_and_soon_expiring(tmp_path):
    now = dt.datetime.now(dt.timezone.utc)
    cert, key = make_certificate(tmp_path, "soon", now - dt.timedelta(days=80), now + dt.timedelta(days=5))
    with tls_server(cert, key) as server:
        trusted = Recipe(name="https", ca_file=cert)
        result = run(target(server.url("/")), trusted)
        assert result.success
        assert result.measurements["cert_days_left"] == pytest.approx(5, abs=0.01)
        assert result.measurements["connect_s"] <= result.measurements["tls_s"] <= result.measurements["first_byte_s"]
        strict = run(target(server.url("/")), Recipe(name="https14", ca_file=cert, cert_min_days=14))
        assert (strict.success, strict.failure_reason) == (False, "tls")
        assert strict.detail.startswith("certificate expires in 5.0 days (minimum 14)")
        untrusted = run(target(server.url("/")), HTTP_2XX)  # self-signed, not in the system store
        assert untrusted.failure_reason == "tls"


def test_tls_expired_certificate(tmp_path):
    now = dt.datetime.now(dt.timezone.utc)
    cert, key = make_certificate(tmp_path, "old", now - dt.timedelta(days=100), now - dt.timedelta(days=10))
    with tls_server(cert, key) as server:
        expired = run(target(server.url("/")), Recipe(name="https", ca_file=cert))
        assert (expired.failure_reason, "certificate has expired" in expired.detail) == ("tls", True)
        unverified = run(target(server.url("/")), Recipe(name="insecure", tls_verify=False))
        assert unverified.success
        assert unverified.measurements["cert_days_left"] == pytest.approx(-10, abs=0.01)
