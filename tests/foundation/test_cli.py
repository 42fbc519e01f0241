"""The `townsquare` command as a user runs it: serve, crash, serve again; doctor; bad settings."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

TOWNSQUARE = [sys.executable, "-m", "server.cli"]


def run_cli(*args, env=None, timeout=120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*TOWNSQUARE, *args], env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, **kw)


def wait_http(url: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-world")


def test_serve_survives_sigkill_and_comes_back(data_dir):
    port = free_port()
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(data_dir), "TOWNSQUARE_PORT": str(port)}
    proc = subprocess.Popen([*TOWNSQUARE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"
        created = post(f"http://127.0.0.1:{port}/api/auth/register", {"username": "survivor", "password": "still-here-1"})
        assert created["user"]["username"] == "survivor"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # A crash leaves PostgreSQL behind or a stale pid; the next start must cope either way.
    env["TOWNSQUARE_GC_THRESHOLDS"] = "[12000, 11, 9]"
    proc = subprocess.Popen([*TOWNSQUARE, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"
        login = post(f"http://127.0.0.1:{port}/api/auth/login", {"username": "survivor", "password": "still-here-1"})
        assert login["user"]["username"] == "survivor"
        time.sleep(3.5)  # the heap is frozen and the collector's thresholds set 3 s after start-up
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert b"embedded postgres stopped" in out
    assert b"thresholds (12000, 11, 9)" in out  # settings.gc_thresholds reached the collector


def test_embedded_restart_keeps_data_and_seed_is_idempotent(data_dir):
    env = {"TOWNSQUARE_DATA_DIR": str(data_dir)}
    first = run_cli("seed", env=env)
    assert first.returncode == 0, first.stderr
    assert "nothing changed" in first.stdout  # `serve` seeded it already, in the test above
    current = run_cli("db", "current", env=env)
    assert "up to date" in current.stdout, current.stdout + current.stderr


def test_doctor_reports_each_part(data_dir):
    out = run_cli("doctor", "--json", env={"TOWNSQUARE_DATA_DIR": str(data_dir)})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["database"]["database"][0] == "ok"
    assert report["database"]["schema"] == ["ok", "up to date"]
    assert report["redis"]["redis"][0] == "off"
    assert report["models"]["device"][0] in ("cpu", "cuda", "mps")
    assert report["models"]["embed"][0] == "found"
    assert report["models"]["translation"][0] == "missing"
    assert "not configured" in report["models"]["translation"][1]
    text = run_cli("doctor", env={"TOWNSQUARE_DATA_DIR": str(data_dir)}).stdout
    assert "translation" in text and "missing" in text


def test_admin_create_user_reads_password_from_stdin(data_dir):
    out = run_cli("admin", "create-user", "root_admin", "--role", "admin", input="s3cret-pass\n",
                  env={"TOWNSQUARE_DATA_DIR": str(data_dir)})
    assert out.returncode == 0, out.stderr
    assert "created root_admin (admin)" in out.stdout


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"TOWNSQUARE_DATABASE_URL": "postgres//nonsense"}, "TOWNSQUARE_DATABASE_URL"),
        ({"TOWNSQUARE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "cannot reach the database"),
        ({"TOWNSQUARE_DATA_DIR": "/etc/passwd/world"}, "is not writable"),
    ],
)
def test_bad_settings_end_with_one_clear_line(env, expected, tmp_path):
    out = run_cli("serve", env={"TOWNSQUARE_DATA_DIR": str(tmp_path), "TOWNSQUARE_PORT": str(free_port()), **env})
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_port_in_use_is_one_clear_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = run_cli("serve", env={"TOWNSQUARE_DATA_DIR": str(tmp_path), "TOWNSQUARE_PORT": str(port)})
    assert out.returncode == 2
    assert out.stderr.strip() == f"townsquare: port {port} on 127.0.0.1 is in use (set TOWNSQUARE_PORT)"


def test_a_port_held_by_reuse_port_workers_is_free_to_another_worker_only():
    import socket

    from server.db.resolve import port_free

    with socket.socket() as s:  # a running worker started with reuse_port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert port_free("127.0.0.1", port, reuse_port=True)  # the next worker joins it
        assert not port_free("127.0.0.1", port)  # a plain serve is still refused
