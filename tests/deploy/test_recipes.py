"""The deployment recipes pass their validators: systemd-analyze for the units, Caddy for
its config (and a signed interaction through a real Caddy terminating TLS on loopback)."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support.servers import free_port
from support.signing import command, ping

from .conftest import DEPLOY, Served, need, wait_until

UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/catalyst-interactions/.venv/bin/catalyst-interactions"


def _units_here(tmp_path: Path) -> Path:
    """The units as shipped, with the install path pointed at this checkout's CLI (verify
    checks that ExecStart exists)."""
    cli = Path(sys.executable).with_name("catalyst-interactions")
    assert cli.is_file(), cli
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        assert INSTALLED in text, unit.name
        (tmp_path / unit.name).write_text(text.replace(INSTALLED, str(cli)))
    return tmp_path


def test_systemd_units_verify_cleanly_and_are_hardened(tmp_path: Path) -> None:
    analyze = need("systemd-analyze", "systemd")
    here = _units_here(tmp_path)
    units = ["catalyst-edge.service", "catalyst-worker@9465.service"]
    result = subprocess.run(
        [analyze, "verify", *units], cwd=here, capture_output=True, text=True, check=False
    )
    # Unknown keys and bad values are only warnings for systemd: any output is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    for unit in units:
        text = (UNITS / unit.replace("@9465", "@")).read_text()
        for setting in (
            "User=catalyst",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "Restart=always",
            "KillMode=mixed",
        ):
            assert re.search(rf"^{re.escape(setting)}$", text, re.M), (unit, setting)
        security = subprocess.run(
            [analyze, "security", "--offline=yes", "--threshold=20", unit],
            cwd=here,
            capture_output=True,
            text=True,
            check=False,
        )
        exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
        assert exposure is not None, security.stdout + security.stderr
        assert float(exposure.group(1)) <= 2.0, security.stdout  # systemd calls <= 2.0 "OK"
    assert "u catalyst - " in (UNITS / "catalyst.sysusers.conf").read_text()


def test_tunnel_config_sends_only_the_endpoint_to_the_edge() -> None:
    """cloudflared itself cannot be installed here (no Debian package): the config is checked
    for the ingress rules cloudflared documents — first match wins, a catch-all last."""
    text = (DEPLOY / "cloudflared" / "config.yml").read_text()
    rules = re.findall(
        r"^  - (?:hostname: (\S+)\n    )?(?:path: (\S+)\n    )?service: (\S+)$", text, re.M
    )
    assert rules[-1] == ("", "", "http_status:404")
    edge = [r for r in rules if r[2].startswith("http://")]
    assert edge and all(r[2] == "http://127.0.0.1:8081" for r in edge)
    assert {r[1] for r in edge} == {"^/interactions$", "^/handover$", "^/health$"}
    # The port is the edge unit's --port.
    assert "--port 8081" in (UNITS / "catalyst-edge.service").read_text()


def _caddy_env(tmp_path: Path, site_port: int, http_port: int, edge: str) -> dict[str, str]:
    return os.environ | {
        "CATALYST_SITE": f"localhost:{site_port}",
        "CATALYST_EDGE": edge,
        # Caddy's internal CA instead of Let's Encrypt, no admin API, no port 80.
        "CATALYST_CADDY_GLOBAL": (
            f"local_certs\nskip_install_trust\nadmin off\nhttp_port {http_port}\n"
            "auto_https disable_redirects"
        ),
        "XDG_DATA_HOME": str(tmp_path / "caddy-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
        "HOME": str(tmp_path),
    }


@pytest.mark.loopback
def test_a_signed_interaction_goes_through_caddy_over_tls(served: Served, tmp_path: Path) -> None:
    caddy = need("caddy", "caddy")
    caddyfile = DEPLOY / "caddy" / "Caddyfile"
    site_port, http_port = free_port(), free_port()
    env = _caddy_env(tmp_path, site_port, http_port, served.url.removeprefix("http://"))
    valid = subprocess.run(
        [caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert valid.returncode == 0, valid.stderr[-2000:]
    log = (tmp_path / "caddy.log").open("w")
    proc = subprocess.Popen(
        [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    root = tmp_path / "caddy-data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    base = f"https://localhost:{site_port}"
    try:
        wait_until(root.is_file, what="Caddy's internal CA")
        tls = ssl.create_default_context(cafile=str(root))
        with httpx.Client(base_url=base, verify=tls, timeout=10) as client:
            wait_until(lambda: client.get("/health").status_code == 200, what="Caddy's TLS site")
            # The certificate is for the site's name and chains to Caddy's CA only.
            with (
                socket.create_connection(("127.0.0.1", site_port)) as raw,
                tls.wrap_socket(raw, server_hostname="localhost") as wrapped,
            ):
                assert wrapped.version() in ("TLSv1.3", "TLSv1.2")
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{base}/health", timeout=5)  # system trust does not know it
            body, headers = served.signer.signed(ping())
            assert client.post("/interactions", content=body, headers=headers).json() == {"type": 1}
            body, headers = served.signer.signed(command("help"))
            answer = client.post("/interactions", content=body, headers=headers)
            assert answer.status_code == 200 and answer.json()["type"] == 4
            # A forged signature is refused by the edge behind Caddy.
            headers["X-Signature-Ed25519"] = "00" * 64
            assert client.post("/interactions", content=body, headers=headers).status_code == 401
            # Only the endpoint and /health are public; metrics are not proxied.
            assert client.get("/metrics").status_code == 404
            assert client.get("/ready").status_code == 404
            # Caddy refuses an oversized body itself.
            big = client.post("/interactions", content=b"x" * (1_100_000), headers=headers)
            assert (big.status_code, big.text) == (413, "body too large")
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
