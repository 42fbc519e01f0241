"""One thread per transformers model: it loads the model, then does every forward pass of it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from . import metrics
from .errors import InferenceError, ModelUnavailable, first_line
from .loader import load_engine
from .loading import ModelMissing
from .queue import Request, RequestQueue
from .spec import ModelSpec

log = logging.getLogger("ai.inference")

#: report(state, reason, device) is called once from the worker thread after loading
Report = Callable[[str, str, str], None]


class ModelWorker(threading.Thread):
    def __init__(self, spec: ModelSpec, queue: RequestQueue, report: Report) -> None:
        super().__init__(name=f"inference-{spec.name}", daemon=True)
        self.spec = spec
        self.queue = queue
        self.report = report
        self.engine = None
        self.active = None  # generate: the running DecodeBatch (for introspection)

    def run(self) -> None:
        spec = self.spec
        try:
            self.engine = load_engine(spec)
        except ModelMissing as exc:
            log.warning("inference: model %s is missing: %s", spec.name, exc)
            self.report("missing", str(exc), spec.device)
            return
        except Exception as exc:  # any load failure leaves the world running without this model
            log.warning("inference: model %s failed to load: %s", spec.name, first_line(exc))
            self.report("error", first_line(exc), spec.device)
            return
        self.report("loaded", "", self.engine.device)
        try:
            if spec.task == "generate":
                self._serve_generate()
            else:
                self._serve_batches()
        finally:
            self.engine.close()
            self.engine = None

    def _take(self, **kwargs) -> list[Request]:
        return self.queue.take(self.spec.name, self.spec.max_batch_size, self.spec.max_wait_ms / 1000.0, **kwargs)

    def _failed(self, exc: BaseException) -> InferenceError:
        log.warning("inference: %s batch failed: %s", self.spec.name, first_line(exc))
        return InferenceError(f"model {self.spec.name!r} failed: {first_line(exc)}")

    def _serve_batches(self) -> None:
        while True:
            batch: list[Request] = []
            try:
                batch = self._take()
                if self.queue.closed:
                    return
                batch = [r for r in batch if not r.abandoned]
                if not batch:
                    continue
                metrics.BATCH_SIZE.labels(self.spec.name).observe(sum(r.size for r in batch))
                results = self.engine.run(batch)
                if len(results) != len(batch):
                    raise RuntimeError(f"engine returned {len(results)} results for {len(batch)} requests")
            except Exception as exc:  # fails this batch only; the worker keeps serving
                error = self._failed(exc)
                for req in batch:
                    req.fail(error)
                time.sleep(0.001)
                continue
            for req, result in zip(batch, results):
                req.resolve(result)

    def _serve_generate(self) -> None:
        from .decode import DECODE_GROUP, DecodeBatch

        engine = self.engine
        active = self.active = DecodeBatch(engine)
        limit = self.spec.max_batch_size
        while True:
            try:
                if not active.rows:
                    batch = self._take()
                    if self.queue.closed:
                        return
                    batch = [r for r in batch if not r.abandoned]
                    if not batch:
                        continue
                    if batch[0].group != DECODE_GROUP or not engine.decode_loop:
                        self._run_static(batch)
                        continue
                    active.admit(batch)
                elif active.can_join and len(active) < limit:
                    joining = self._take(block=False, group=DECODE_GROUP)
                    joining = [r for r in joining if not r.abandoned]
                    if joining:
                        active.admit(joining)
                if self.queue.closed:
                    active.fail_all(ModelUnavailable("inference service stopped"))
                    return
                active.step()
            except Exception as exc:  # a failing forward fails the sequences in the batch only
                active.fail_all(self._failed(exc))
                time.sleep(0.001)

    def _run_static(self, batch: list[Request]) -> None:
        try:
            results = self.engine.run_static(batch)
            if len(results) != len(batch):
                raise RuntimeError(f"engine returned {len(results)} results for {len(batch)} requests")
        except Exception as exc:
            error = self._failed(exc)
            for req in batch:
                req.fail(error)
            return
        for req, result in zip(batch, results):
            req.resolve(result)
