"""An inference service as a real subprocess (`python -m ai.inference.server`) on a real port,
started once per module by the tests that need one, and tiny models for it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from ai.inference import ModelSpec
from ai.inference.server import specs_to_json
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """`python -m ai.inference.server` on 127.0.0.1:port; kill() and start() again keep the port."""

    def __init__(self, specs: list[ModelSpec], workdir: Path, *, max_queue: int = 256,
                 env: dict[str, str] | None = None, argv: list[str] | None = None) -> None:
        self.argv = argv  # instead of `-m ai.inference.server --specs ...`: e.g. the `townsquare` CLI's command
        self.specs_file = workdir / "specs.json"
        self.specs_file.write_text(specs_to_json(specs))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.max_queue = max_queue
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log = open(workdir / "service.log", "ab")

    def start(self, timeout: float = 120.0) -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **self.env)
        argv = self.argv or ["-m", "ai.inference.server", "--specs", str(self.specs_file)]
        self.proc = subprocess.Popen(
            [sys.executable, *argv, "--port", str(self.port), "--max-queue", str(self.max_queue), "--threads", "1",
             "--announce"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:  # the service says when it listens and when its models are loaded
            if json.loads(line).get("event") == "ready":
                return
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"inference service did not get ready (exit code {self.proc.poll()})")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    async def queue(self) -> dict[int, int]:
        """Requests waiting at the service, per priority."""
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.url}/healthz") as r:
                return {int(p): n for p, n in (await r.json())["queue"].items()}

    async def metric(self, name: str, **labels) -> float:
        """One sample of the service's own /metrics (0 when absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{self.url}/metrics") as r:
                text = await r.text()
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return 0.0


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> dict[str, Path]:
    """Tiny random Llama, BERT classifier and Marian, saved once per session."""
    from ai.inference import tiny

    base = tmp_path_factory.mktemp("inference-tiny")
    return {"llama": tiny.build_tiny_llama(base / "llama"), "bert": tiny.build_tiny_bert_classifier(base / "bert"),
            "marian": tiny.build_tiny_marian(base / "marian")}
