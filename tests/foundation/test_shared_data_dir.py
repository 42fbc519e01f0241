"""Admin commands next to a running world (issue 13 item 1): a command attaches to the world's
embedded PostgreSQL and must leave it running; a second `serve` on the same data dir is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

TOWNSQUARE = [sys.executable, "-m", "server.cli"]
PASSWORD = "shared-world-pass-7Q"


def run_cli(env: dict, *args, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*TOWNSQUARE, *args], env=env, capture_output=True, text=True, timeout=180, input=input)


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
        try:
            if get_json(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "serve did not become healthy"
        time.sleep(0.3)


class Serve:
    """A real `townsquare serve` on a temp data dir and a free port."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(data_dir), "TOWNSQUARE_PORT": str(self.port)}
        self.proc = subprocess.Popen([*TOWNSQUARE, "serve"], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def assert_up(self, username: str) -> None:
        status, body = get_json(f"{self.base}/healthz")
        assert (status, body.get("database")) == (200, "ok"), body
        status, body = post(f"{self.base}/api/auth/login", {"username": username, "password": PASSWORD})
        assert status == 200 and body["user"]["username"] == username, body

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        return out.decode(errors="replace")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    server = Serve(tmp_path_factory.mktemp("shared-world"))
    try:
        wait_healthy(server.base, server.proc)
        status, body = post(f"{server.base}/api/auth/register", {"username": "regular", "password": PASSWORD})
        assert status == 200, body
        yield server
    finally:
        out = server.stop()
    assert server.proc.returncode == 0, out[-3000:]
    assert "embedded postgres stopped" in out  # serve started it, so serve stops it


COMMANDS = [
    (["admin", "create-user", "boss", "--role", "admin"], PASSWORD + "\n", 0, "created boss (admin)"),
    (["economy", "audit"], None, 0, ""),
    (["residents", "list"], None, 0, ""),
    (["seed"], None, 0, "nothing changed"),
    (["db", "upgrade"], None, 0, "upgraded"),
    (["db", "current"], None, 0, "up to date"),
    (["doctor"], None, 0, "database"),
]


@pytest.mark.parametrize("argv, stdin, code, expected", COMMANDS, ids=[" ".join(c[0][:2]) for c in COMMANDS])
def test_a_command_beside_a_running_world_leaves_it_running(world, argv, stdin, code, expected):
    out = run_cli(world.env, *argv, input=stdin)
    assert out.returncode == code, out.stdout + out.stderr
    assert expected in out.stdout, out.stdout + out.stderr
    world.assert_up("regular")


def test_downgrade_is_refused_while_the_world_serves(world):
    out = run_cli(world.env, "db", "downgrade")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "stop it before a downgrade" in lines[0], out.stderr
    assert f"pid {world.proc.pid}" in lines[0]
    world.assert_up("regular")


def test_a_second_serve_on_the_same_data_dir_is_refused(world):
    env = {**world.env, "TOWNSQUARE_PORT": str(free_port())}
    out = subprocess.run([*TOWNSQUARE, "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "another `townsquare serve`" in lines[0] and f"pid {world.proc.pid}" in lines[0], lines[0]
    world.assert_up("regular")


HOLDER = """
import sys
from server.config import load_settings
from server.db.resolve import world_database
with world_database(load_settings()) as url:
    print("ready", flush=True)
    sys.stdin.readline()
print("done", flush=True)
"""


def test_serve_started_while_a_command_holds_the_database(tmp_path):
    """The opposite order: a command started PostgreSQL, then serve starts and the command ends."""
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(tmp_path)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = None
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        server = Serve(tmp_path)
        wait_healthy(server.base, server.proc)
        assert post(f"{server.base}/api/auth/register", {"username": "early", "password": PASSWORD})[0] == 200
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "done"
        assert holder.wait(30) == 0, holder.stderr.read()
        server.assert_up("early")
        # And the command that ends now (serve still up) must not stop it either.
        assert run_cli(server.env, "db", "current").returncode == 0
        server.assert_up("early")
    finally:
        if holder.poll() is None:
            holder.kill()
        if server is not None:
            out = server.stop()
            assert server.proc.returncode == 0, out[-3000:]
            assert "embedded postgres stopped" in out  # serve took charge of it, and was the last user
    pgdata = tmp_path / "pgdata"
    assert not (pgdata / "postmaster.pid").exists()  # nothing left running behind the world
