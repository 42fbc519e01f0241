"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading."""

import re
from pathlib import Path

import yaml

from server.config import ModelsConfig, Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_names(compose: dict) -> set[str]:
    names = set()
    for svc in compose["services"].values():
        env = svc.get("environment") or {}
        names |= set(env) if isinstance(env, dict) else {e.split("=")[0] for e in env}
    text = (ROOT / "docker-compose.yml").read_text()
    names |= set(re.findall(r"#\s*(TOWNSQUARE_[A-Z_]+):", text))  # the commented optional ones too
    return {n for n in names if n.startswith("TOWNSQUARE_")}


def test_compose_parses_and_env_names_are_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"postgres", "redis", "world1", "world2", "proxy"} <= set(compose["services"])
    fields = {f.upper() for f in Settings.model_fields}
    model_fields = {f.upper() for f in ModelsConfig.model_fields}
    for name in _env_names(compose):
        key = name.removeprefix("TOWNSQUARE_")
        if "__" in key:
            parent, child = key.split("__", 1)
            assert parent == "MODELS" and child in model_fields, name
        else:
            assert key in fields, name
    world = compose["services"]["world1"]
    assert world["build"] == "." and world["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["postgres"]
    assert (ROOT / "deploy/nginx.conf").exists()


def test_readme_names_the_compose_images_and_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    readme = (ROOT / "README.md").read_text()
    for svc in compose["services"].values():
        if "image" in svc and "build" not in svc:
            assert svc["image"] in readme, svc["image"]
    assert readme.splitlines()[5:7] == ["make run    # installs into .venv if needed, starts embedded PostgreSQL, migrates, seeds, serves http://127.0.0.1:8080",
                                        "make test   # installs what the tests need (venv, client build, Debian's chromium) and runs the whole suite"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["townsquare", "serve"]' in dockerfile
