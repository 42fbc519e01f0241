"""A guessable token-signing secret on a reachable world (issue 13 item 15): the compose file
requires one, and `serve` refuses a known or short one whenever it listens beyond loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from server.secret_policy import check_serving_secret, weakness
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TOWNSQUARE = [sys.executable, "-m", "server.cli"]
STRONG = "kP3v9Qx7Lr2Zt8Wm4Nc6Yh1Bf5Dg0Js-Ua_Ee"


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's rules for ${VAR}, ${VAR:-default} and ${VAR:?error} (compose-spec, interpolation)."""
    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        got = env.get(name)
        if op == ":?" and not got:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not got:
            return arg
        return got or ""
    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:\?|:-)([^}]*))?\}", one, value)


def world_env(compose: dict) -> dict[str, str]:
    return compose["services"]["world1"]["environment"]


def test_compose_requires_the_secret_with_a_message():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    raw = world_env(compose)["TOWNSQUARE_SECRET_KEY"]
    assert world_env(compose) == world_env(compose | {}) and compose["services"]["world2"]["environment"] == world_env(compose)
    with pytest.raises(ValueError, match="TOWNSQUARE_SECRET_KEY.*random string of 32\\+ characters"):
        interpolate(raw, {})
    with pytest.raises(ValueError):
        interpolate(raw, {"TOWNSQUARE_SECRET_KEY": ""})  # ':?' also refuses an empty value
    assert interpolate(raw, {"TOWNSQUARE_SECRET_KEY": STRONG}) == STRONG
    assert "change-me" not in (ROOT / "docker-compose.yml").read_text()


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(["docker", "compose", "version"],
                    capture_output=True).returncode != 0, reason="no docker compose client here")
def test_docker_compose_config_refuses_a_missing_secret():
    env = {k: v for k, v in os.environ.items() if k != "TOWNSQUARE_SECRET_KEY"}
    out = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config"], env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "TOWNSQUARE_SECRET_KEY" in out.stderr
    out = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                         env={**env, "TOWNSQUARE_SECRET_KEY": STRONG}, capture_output=True, text=True)
    assert out.returncode == 0 and STRONG in out.stdout, out.stderr


@pytest.mark.parametrize("secret, why", [
    ("change-me-to-a-long-random-string", "published example"),
    ("CHANGE_ME_TO_A_LONG_RANDOM_STRING", "published example"),
    ("please-change-me-" + "q8" * 20, "placeholder"),
    ("short-but-random-Zx81", "21 characters long"),
    ("ab" * 30, "repeats"),
])
def test_weak_secrets_are_named(secret, why):
    assert why in weakness(secret)


def test_strong_secret_and_loopback_pass():
    assert weakness(STRONG) is None
    assert check_serving_secret("0.0.0.0", STRONG, configured=True) is None
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert check_serving_secret(host, "secret", configured=True) is None
    for host in ("0.0.0.0", "::", "", "10.0.0.5", "world.example.org"):
        assert check_serving_secret(host, "secret", configured=True) is not None


def serve(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "TOWNSQUARE_DATA_DIR": str(tmp_path), "TOWNSQUARE_PORT": str(free_port()), **env}
    return subprocess.run([*TOWNSQUARE, "serve", *args], env=full, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("secret", ["change-me-to-a-long-random-string", "tooshort"])
def test_serve_beyond_loopback_refuses_a_weak_secret(tmp_path, secret):
    out = serve(tmp_path, "--host", "0.0.0.0", TOWNSQUARE_SECRET_KEY=secret)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("townsquare: refusing to listen on 0.0.0.0 with a weak TOWNSQUARE_SECRET_KEY")
    assert "forge" in lines[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "pgdata").exists()  # refused before anything started


def test_serve_beyond_loopback_refuses_a_weak_secret_file(tmp_path):
    (tmp_path / "secret_key").write_text("secret\n")
    out = serve(tmp_path, "--host", "0.0.0.0")
    assert out.returncode == 2 and "with a weak secret_key file in the data dir" in out.stderr, out.stderr
