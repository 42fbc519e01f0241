"""`SupervisedInference`: a node's own inference service as a child process (`python -m ai.inference.server`
on a private unix socket), restarted when it dies and stopped with the node. Callers use it exactly
like `InferenceService`; the requests go through an `InferenceClient`, so this process never imports torch.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from . import metrics
from .client import InferenceClient
from .errors import ModelUnavailable
from .server import specs_to_json
from .spec import ModelSpec

log = logging.getLogger("ai.inference.child")


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class SupervisedInference:
    """See the module docstring. `start()` returns once the child has loaded its models (or after
    `start_timeout_s`, with them still `loading`); a child that exits is started again after a backoff."""

    def __init__(self, specs: Sequence[ModelSpec], *, max_queue: int = 256, threads: int = 0, nice: int = 0,
                 start_timeout_s: float = 300.0, max_concurrency: int = 64, refresh_s: float = 1.0,
                 python: str = sys.executable, env: dict[str, str] | None = None) -> None:
        self._specs = list(specs)
        self.max_queue = max_queue
        self.threads = threads
        self.nice = nice  # the child's CPU priority below this node's (os.nice steps)
        self.start_timeout_s = start_timeout_s
        self.python = python
        self.env = env
        self._dir = tempfile.mkdtemp(prefix="ts-inference-")  # short path: unix sockets allow ~100 bytes
        self.socket_path = os.path.join(self._dir, "inference.sock")
        self.url = f"unix:{self.socket_path}"
        self.client = InferenceClient([self.url], max_concurrency=max_concurrency, refresh_s=refresh_s,
                                      specs=self._specs)
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task | None = None
        self._reader: asyncio.Task | None = None
        self._stopping = False
        self._started = False

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        with open(os.path.join(self._dir, "specs.json"), "w") as f:
            f.write(specs_to_json(self._specs))
        await self._spawn()
        try:
            await asyncio.wait_for(self._ready.wait(), self.start_timeout_s)
        except TimeoutError:
            log.warning("inference child not ready after %.0f s; its models stay 'loading' until it is",
                        self.start_timeout_s)
        await self.client.start()
        metrics.add_source(self, self._child_metrics)
        self._supervisor = asyncio.create_task(self._supervise(), name="inference-child")

    async def _spawn(self) -> None:
        self._ready.clear()
        cmd = [self.python, "-m", "ai.inference.server", "--specs", os.path.join(self._dir, "specs.json"),
               "--unix", self.socket_path, "--max-queue", str(self.max_queue), "--threads", str(self.threads),
               "--nice", str(self.nice), "--announce", "--parent-pipe"]
        env = dict(self.env if self.env is not None else os.environ)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.pop("TOWNSQUARE_INFERENCE_TOKEN", None)  # its socket is in a 0700 directory of its own: no token
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            start_new_session=True,  # a Ctrl-C to the node's terminal is the node's to handle, not the child's
        )
        self.started_at = time.monotonic()
        log.info("inference child started (pid %s) on %s", self.proc.pid, self.url)
        self._reader = asyncio.create_task(self._read_events(self.proc), name="inference-child-events")

    async def _read_events(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "ready" and proc is self.proc:
                self._ready.set()
                if self.client._started:
                    await self.client.refresh()  # callers see the models at once, not at the next probe

    async def _supervise(self) -> None:
        backoff = 0.5
        while not self._stopping:
            proc = self.proc
            assert proc is not None
            code = await proc.wait()
            if self._stopping:
                return
            lived = time.monotonic() - self.started_at
            backoff = 0.5 if lived > 60 else min(backoff * 2, 30.0)
            log.warning("inference child (pid %s) exited with %s after %.0f s; restarting in %.1f s",
                        proc.pid, code, lived, backoff)
            await self.client.refresh()  # mark it down now, so callers fall back at once
            await asyncio.sleep(backoff)
            if self._stopping:
                return
            self.restarts += 1
            await self._spawn()

    async def stop(self, *, drain_timeout: float = 0.0) -> None:
        self._stopping = True
        metrics.remove_source(self)
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        await self.client.stop_probing()  # a probe during the child's exit would report it unreachable
        proc = self.proc
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                proc.stdin.close()  # the child drains for up to 2 s and exits on EOF
            try:
                await asyncio.wait_for(proc.wait(), drain_timeout + 5.0)
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.client.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    async def __aenter__(self) -> SupervisedInference:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def _child_metrics(self):
        """The child's inference families, for this node's /metrics (a short blocking read on a local socket)."""
        from prometheus_client.parser import text_string_to_metric_families

        conn = _UnixHTTP(self.socket_path, timeout=0.5)
        try:
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
        except OSError:
            return []
        finally:
            conn.close()
        return [f for f in text_string_to_metric_families(text)
                if f.name.startswith("townsquare_inference_") and not f.name.startswith("townsquare_inference_client")]

    # ---- the InferenceService interface, through the client -----------------------------------

    def available(self, model: str) -> bool:
        return self.client.available(model)

    def status(self) -> list[dict[str, Any]]:
        return self.client.status()

    def queue_depth(self):
        return self.client.queue_depth()

    @property
    def specs(self) -> list[ModelSpec]:
        return list(self._specs)

    def services(self) -> list[dict[str, Any]]:
        out = self.client.services()
        for s in out:
            s.update(pid=self.pid, restarts=self.restarts, supervised=True)
        return out

    def _live(self) -> None:
        if not self._started or self._stopping:
            raise ModelUnavailable("inference service stopped" if self._stopping else "inference service not started")

    async def generate(self, model: str, messages: list[dict], **kw):
        self._live()
        return await self.client.generate(model, messages, **kw)

    async def classify(self, model: str, texts: list[str], **kw):
        self._live()
        return await self.client.classify(model, texts, **kw)

    async def translate(self, model: str, texts: list[str], **kw):
        self._live()
        return await self.client.translate(model, texts, **kw)

    async def embed(self, model: str, texts: list[str], **kw):
        self._live()
        return await self.client.embed(model, texts, **kw)
