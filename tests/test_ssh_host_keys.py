"""Host keys known_hosts revokes, host certificates, and servers offering other key types, against
real sshd: each is named for what it is, and `remote trust` never trusts what it must not."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from navish.errors import HostUnreachable, NavishError
from navish.hosts.ssh import append_known_host
from navish.model import HostState
from tests.sshd import keygen, make_pool, sign_host_key

T = 10.0


def _public(path: Path) -> str:
    """`TYPE BASE64` of a public key file."""
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


@pytest.mark.parametrize("also_trusted", [False, True], ids=["revoked", "revoked-and-trusted"])
def test_a_revoked_host_key_is_refused_and_never_trusted(sshd_factory, client_key, tmp_path, also_trusted):
    """Also when the same key is listed as trusted (as `remote trust` used to append it)."""
    server = sshd_factory()
    known_hosts = tmp_path / "known_hosts"
    pattern = f"[127.0.0.1]:{server.port}"
    text = f"@revoked {pattern} {server.public_host_key()}\n"
    if also_trusted:
        text += server.known_hosts_line() + "\n"
    known_hosts.write_text(text)

    async def main():
        pool = make_pool(backoff_initial=0)
        host = pool.host(server.spec(client_key, known_hosts=known_hosts))
        try:
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert str(err.value) == (
                f"dev: host key REVOKED for 127.0.0.1:{server.port} — refusing to connect "
                "(known_hosts marks it @revoked)"
            )
            assert host.state is HostState.HOST_KEY_REVOKED
            with pytest.raises(HostUnreachable, match="REVOKED"):  # `remote trust` stops here
                await host.fetch_host_key()
            with pytest.raises(NavishError, match="@revoked — refusing to trust it"):
                await host.trust(server.known_hosts_line())
            with pytest.raises(NavishError, match="@revoked"):
                append_known_host(str(known_hosts), server.known_hosts_line())
            assert known_hosts.read_text() == text
            assert server.accepted_logins() == 0
        finally:
            await pool.close_all()

    asyncio.run(main())


def test_host_certificates_from_trusted_and_untrusted_cas(sshd_factory, client_key, tmp_path):
    ca, other_ca = keygen(tmp_path / "ca"), keygen(tmp_path / "other_ca")
    server = sshd_factory(start=False)
    server.extra_config += (f"HostCertificate {sign_host_key(server, ca)}",)
    server.start()
    pattern = f"[127.0.0.1]:{server.port}"
    untrusted, trusted, unknown = (tmp_path / n for n in ("untrusted", "trusted", "unknown"))
    untrusted.write_text(f"@cert-authority {pattern} {_public(other_ca)}\n")
    trusted.write_text(f"@cert-authority {pattern} {_public(ca)}\n")
    unknown.write_text("")

    async def main():
        pool = make_pool(backoff_initial=0)
        hosts = {path.name: pool.host(server.spec(client_key, name=path.name, known_hosts=path))
                 for path in (untrusted, trusted, unknown)}
        try:
            host = hosts["untrusted"]
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert str(err.value) == (
                f"untrusted: certificate from an untrusted CA (127.0.0.1:{server.port}) — refusing to "
                "connect; known_hosts trusts other @cert-authority keys for it"
            )
            assert host.state is HostState.HOST_CERT_UNTRUSTED
            with pytest.raises(HostUnreachable, match="untrusted CA"):
                await host.fetch_host_key()
            assert untrusted.read_text() == f"@cert-authority {pattern} {_public(other_ca)}\n"
            assert server.accepted_logins() == 0
            # The CA known_hosts does trust: connected.
            assert (await hosts["trusted"].run("echo ok", timeout=T)).out == "ok\n"
            # No CA and no key known for it: an unknown host like any other, which trust fixes.
            host = hosts["unknown"]
            with pytest.raises(HostUnreachable, match="host key unknown .* run `remote trust unknown`"):
                await host.run("true", timeout=T)
            assert host.state is HostState.HOST_KEY_UNKNOWN
            key = await host.fetch_host_key()
            assert key.line == server.known_hosts_line()
            assert await host.trust(key.line)
            assert (await host.run("echo ok", timeout=T)).out == "ok\n"
        finally:
            await pool.close_all()

    asyncio.run(main())


def test_a_server_offering_only_other_key_types_is_unknown_and_trustable(sshd_factory, client_key, tmp_path):
    server = sshd_factory(start=False)
    rsa_key = tmp_path / "host_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(rsa_key)], check=True)
    server.extra_config += (f"HostKey {rsa_key}", "HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256")
    server.start()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(server.known_hosts_line() + "\n")  # its ed25519 key, which it no longer offers

    async def main():
        pool = make_pool(backoff_initial=30)
        host = pool.host(server.spec(client_key, known_hosts=known_hosts))
        try:
            with pytest.raises(HostUnreachable) as err:
                await host.run("true", timeout=T)
            assert str(err.value) == (
                f"dev: host key unknown: the server offers ssh-rsa, known_hosts has only ssh-ed25519 "
                f"(127.0.0.1:{server.port}) — run `remote trust dev`"
            )
            assert host.state is HostState.HOST_KEY_UNKNOWN
            key = await host.fetch_host_key()
            assert (key.key_type, key.other_types) == ("ssh-rsa", ("ssh-ed25519",))
            assert key.line == f"[127.0.0.1]:{server.port} {_public(rsa_key)}"
            assert await host.trust(key.line)
            assert (await host.run("echo ok", timeout=T)).out == "ok\n"
            assert known_hosts.read_text() == server.known_hosts_line() + "\n" + key.line + "\n"
        finally:
            await pool.close_all()

    asyncio.run(main())
