"""Text generation with continuous batching for decoder-only models.

`DecodeBatch` keeps one left-padded batch of sequences and its KV cache. Between two decode
steps, finished or abandoned sequences leave the batch (their result is delivered at once) and
newly queued requests join it: they are prefilled on their own (bucketed by prompt length) and
their cache is left-padded and concatenated onto the running one. Sampling parameters are applied
per row, so any mix of greedy and sampled requests shares a batch. Beam search goes through
`model.generate` in static batches grouped by identical kwargs.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import metrics
from .engines import Engine
from .errors import InferenceError, first_line
from .queue import Request
from .spec import GenerateResult, ModelSpec

log = logging.getLogger("ai.inference")

#: group key of requests the continuous decode loop can take (any sampling settings)
DECODE_GROUP = ("decode",)


def fallback_prompt(messages: list[dict]) -> str:
    """Prompt for tokenizers without a chat template."""
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


def group_key(params: dict, continuous: bool, approx_len: int) -> tuple:
    """Batching compatibility: the decode loop takes anything; static batches need equal kwargs
    and similar prompt lengths (bucketed by powers of two of the message size)."""
    if continuous and params["num_beams"] == 1:
        return DECODE_GROUP
    bucket = max(approx_len, 1).bit_length()
    return ("static", bucket, params["max_new_tokens"], params["temperature"], params["top_k"],
            params["top_p"], params["repetition_penalty"], params["seed"], params["num_beams"],
            tuple(params["stop"] or ()))


@dataclass(eq=False)
class Row:
    """One sequence in the decode batch."""

    req: Request
    prompt: list[int]
    max_new_tokens: int
    temperature: float
    top_k: int | None
    top_p: float | None
    repetition_penalty: float | None
    stop: list[str]
    generator: Any = None
    tokens: list[int] = field(default_factory=list)
    text: str | None = None
    finish: str | None = None
    streamed: str = ""  # text already handed to the request's `on_text` sink

    def stream(self, tokenizer) -> None:
        """Hand the caller's `on_text` sink the text that is now certain (streaming)."""
        sink = self.req.params.get("on_text")
        if sink is None or self.finish is not None:
            return
        safe = _streamable(tokenizer.decode(self.tokens, skip_special_tokens=True).lstrip(), self.stop)
        if len(safe) > len(self.streamed) and safe.startswith(self.streamed):
            delta, self.streamed = safe[len(self.streamed):], safe
            try:
                self.req.loop.call_soon_threadsafe(sink, delta)  # before the result: the loop runs them in order
            except RuntimeError:  # the loop is closed: nobody is listening
                pass

    @property
    def plain_greedy(self) -> bool:
        return self.temperature <= 0 and not self.repetition_penalty


class GenerateEngine(Engine):
    auto_class = "AutoModelForCausalLM"

    def __init__(self, spec: ModelSpec, path: Path, device: str, dtype) -> None:
        super().__init__(spec, path, device, dtype)
        tok = self.tokenizer
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        if tok.eos_token_id is not None:
            eos_ids.add(tok.eos_token_id)
        self.eos_ids = eos_ids
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        self.has_chat_template = bool(getattr(tok, "chat_template", None))
        self.decode_loop = self._check_decode_loop()
        self.continuous = spec.continuous_batching and self.decode_loop
        self._tps = 0.0

    def _check_decode_loop(self) -> bool:
        """Warm the model up with a two-token forward; the own decode loop needs a KV cache whose
        rows can be selected. Other models (state-space, custom caches) use `generate` batches."""
        import torch

        ids = torch.tensor([[self.pad_id, self.pad_id]], device=self.device)
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
        cache = getattr(out, "past_key_values", None)
        ok = cache is not None and hasattr(cache, "batch_select_indices") and hasattr(cache, "layers")
        if not ok:
            log.info("inference: %s uses static generate batches (cache %s)", self.spec.name, type(cache).__name__)
        return ok

    # ---- prompts ------------------------------------------------------------------------------

    def prompt_ids(self, messages: list[dict], max_new_tokens: int, params: dict | None = None) -> list[int]:
        tok = self.tokenizer
        params = params or {}
        if params.get("prompt") is not None:  # a raw completion (/v1/completions): no chat template
            ids = tok(params["prompt"])["input_ids"]
        elif self.has_chat_template:
            extra = {"tools": list(params["tools"])} if params.get("tools") else {}
            text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)
            ids = tok(text, add_special_tokens=False)["input_ids"]
        else:
            if params.get("tools"):  # no template to place them: state them as a system line
                messages = [{"role": "system", "content": "tools: " + json.dumps(list(params["tools"]))}, *messages]
            ids = tok(fallback_prompt(messages))["input_ids"]
        budget = max(self.max_input_tokens - max_new_tokens, 1)
        return ids[-budget:]  # keep the end of the conversation

    def new_row(self, req: Request) -> Row:
        import torch

        p = req.params
        row = Row(
            req=req, prompt=self.prompt_ids(req.payload, p["max_new_tokens"], p),
            max_new_tokens=p["max_new_tokens"], temperature=float(p["temperature"] or 0.0),
            top_k=p["top_k"], top_p=p["top_p"], repetition_penalty=p["repetition_penalty"],
            stop=list(p["stop"] or []),
        )
        if row.temperature > 0:
            row.generator = torch.Generator(device="cpu")
            if p["seed"] is not None:
                row.generator.manual_seed(int(p["seed"]))
            else:
                row.generator.seed()
        return row

    # ---- static batches (beam search, or continuous batching switched off) --------------------

    def run_static(self, batch: list[Request]) -> list[GenerateResult]:
        """Run `model.generate` on requests with identical kwargs (regrouped here if they are not)."""
        groups: dict[tuple, list[int]] = {}
        for i, req in enumerate(batch):
            groups.setdefault(group_key(req.params, False, 0)[2:], []).append(i)
        if len(groups) == 1:
            return self._generate_static(batch)
        results: list[Any] = [None] * len(batch)
        for idx in groups.values():
            for i, result in zip(idx, self._generate_static([batch[i] for i in idx])):
                results[i] = result
        return results

    def _generate_static(self, batch: list[Request]) -> list[GenerateResult]:
        import torch

        rows = [self.new_row(req) for req in batch]
        p = batch[0].params
        width = max(len(r.prompt) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r.prompt):] = torch.tensor(r.prompt)
            mask[i, width - len(r.prompt):] = 1
        kwargs: dict[str, Any] = dict(
            max_new_tokens=p["max_new_tokens"], num_beams=p["num_beams"], pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids) or None, do_sample=bool(p["temperature"]),
        )
        if p["temperature"]:
            kwargs.update(temperature=p["temperature"], top_k=p["top_k"] or 0, top_p=p["top_p"] or 1.0)
        if p["repetition_penalty"]:
            kwargs["repetition_penalty"] = p["repetition_penalty"]
        if p["seed"] is not None:
            torch.manual_seed(int(p["seed"]))
        started = time.monotonic()
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **kwargs
            )
        new = out[:, width:].cpu().tolist()
        results = []
        for r, seq in zip(rows, new):
            toks, finish = [], "length"
            for t in seq:
                if t in self.eos_ids:
                    finish = "stop"
                    break
                toks.append(t)
            while toks and toks[-1] == self.pad_id:
                toks.pop()
            r.tokens = toks
            text = self.tokenizer.decode(toks, skip_special_tokens=True)
            cut = _cut_at_stop(text, r.stop)
            if cut is not None:
                text, finish = cut, "stop"
            results.append(GenerateResult(text=text.strip(), tokens=len(toks), finish_reason=finish))
        produced = sum(len(r.tokens) for r in rows)
        metrics.GENERATED_TOKENS.labels(self.spec.name).inc(produced)
        self._rate(produced, time.monotonic() - started)
        metrics.BATCH_SIZE.labels(self.spec.name).observe(len(rows))
        return results

    def _rate(self, n: int, seconds: float) -> None:
        """Moving average of generated tokens per second, for the gauge."""
        if n <= 0:
            return
        rate = n / max(seconds, 1e-6)
        self._tps = rate if self._tps == 0 else 0.8 * self._tps + 0.2 * rate
        metrics.TOKENS_PER_SECOND.labels(self.spec.name).set(self._tps)


def _streamable(text: str, stops: list[str]) -> str:
    """The part of a partial output that later tokens cannot change: no half-decoded character, no
    trailing whitespace (the result is stripped), nothing that may be the start of a stop string."""
    text = text.rstrip("\ufffd").rstrip()
    hold = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), hold, -1):
            if text.endswith(s[:n]):
                hold = n
                break
    return text[:len(text) - hold] if hold else text


def _cut_at_stop(text: str, stops: list[str]) -> str | None:
    cut = None
    for s in stops:
        if s:
            i = text.find(s)
            if i >= 0 and (cut is None or i < cut):
                cut = i
    return None if cut is None else text[:cut]


class DecodeBatch:
    """The running batch of one generate model: rows, their KV cache, mask and next-token logits."""

    def __init__(self, engine: GenerateEngine) -> None:
        self.engine = engine
        self.rows: list[Row] = []
        self.cache = None
        self.mask = None  # [B, T] int64, 0 = left padding
        self.positions = None  # [B] position id of the next token
        self.logits = None  # [B, V] float32 logits of the next token
        self.can_join = engine.continuous
        self.joined = 0  # sequences that joined an already running batch

    def __len__(self) -> int:
        return len(self.rows)

    # ---- admission ----------------------------------------------------------------------------

    def admit(self, batch: list[Request]) -> None:
        """Prefill new requests (in buckets of similar prompt length) and join them to the batch.
        A request whose prompt cannot be encoded or prefilled fails alone."""
        if self.rows:
            self.joined += len(batch)
        rows = []
        for req in batch:
            try:
                rows.append(self.engine.new_row(req))
            except Exception as exc:  # bad template or message content
                req.fail(InferenceError(f"model {req.model!r}: cannot build the prompt: {first_line(exc)}"))
        rows.sort(key=lambda r: len(r.prompt))
        bucket: list[Row] = []
        for row in rows:
            if bucket and len(row.prompt) > 1.5 * len(bucket[0].prompt) + 16:
                self._prefill(bucket)
                bucket = []
            bucket.append(row)
        if bucket:
            self._prefill(bucket)

    def _prefill(self, rows: list[Row]) -> None:
        import torch

        eng = self.engine
        width = max(len(r.prompt) for r in rows)
        ids = torch.full((len(rows), width), eng.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r.prompt):] = torch.tensor(r.prompt, dtype=torch.long)
            mask[i, width - len(r.prompt):] = 1
        ids, mask = ids.to(eng.device), mask.to(eng.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        try:
            with torch.inference_mode():
                out = eng.model(
                    input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1
                )
        except Exception as exc:
            for r in rows:
                r.req.fail(InferenceError(f"model {r.req.model!r} failed: {first_line(exc)}"))
            return
        metrics.BATCH_SIZE.labels(eng.spec.name).observe(len(rows))
        logits = out.logits[:, -1, :].float()
        next_pos = mask.sum(-1)
        self._join(rows, out.past_key_values, mask, next_pos, logits)

    def _join(self, rows, cache, mask, positions, logits) -> None:
        import torch
        import torch.nn.functional as F

        if not self.rows:
            self.rows, self.cache, self.mask, self.positions, self.logits = rows, cache, mask, positions, logits
            self.can_join = self.engine.continuous and _joinable(cache)
            return
        old_t, new_t = self.mask.shape[1], mask.shape[1]
        width = max(old_t, new_t)
        for old_layer, new_layer in zip(self.cache.layers, cache.layers):
            old_layer.keys = torch.cat([F.pad(old_layer.keys, (0, 0, width - old_t, 0)),
                                        F.pad(new_layer.keys, (0, 0, width - new_t, 0))], dim=0)
            old_layer.values = torch.cat([F.pad(old_layer.values, (0, 0, width - old_t, 0)),
                                          F.pad(new_layer.values, (0, 0, width - new_t, 0))], dim=0)
        self.mask = torch.cat([F.pad(self.mask, (width - old_t, 0)), F.pad(mask, (width - new_t, 0))], dim=0)
        self.positions = torch.cat([self.positions, positions])
        self.logits = torch.cat([self.logits, logits])
        self.rows = self.rows + rows

    # ---- one decode step ----------------------------------------------------------------------

    def step(self) -> None:
        """Pick each row's next token, deliver finished rows, and run one forward for the rest."""
        import torch

        with torch.inference_mode():
            self._step()

    def _step(self) -> None:
        import torch

        eng = self.engine
        started = time.monotonic()
        self._drop([i for i, r in enumerate(self.rows) if r.req.abandoned])
        if not self.rows:
            return
        chosen = self._choose()
        keep, done = [], []
        for i, (row, tok) in enumerate(zip(self.rows, chosen)):
            if tok in eng.eos_ids:
                row.finish = "stop"
            else:
                row.tokens.append(tok)
                if row.stop:
                    cut = _cut_at_stop(eng.tokenizer.decode(row.tokens, skip_special_tokens=True), row.stop)
                    if cut is not None:
                        row.text, row.finish = cut, "stop"
                if row.finish is None and (
                    len(row.tokens) >= row.max_new_tokens
                    or len(row.prompt) + len(row.tokens) >= eng.max_input_tokens
                ):
                    row.finish = "length"
            (done if row.finish else keep).append(i)
            row.stream(eng.tokenizer)
        produced = sum(1 for tok in chosen if tok not in eng.eos_ids)
        if produced:  # counted before any caller sees its result
            metrics.GENERATED_TOKENS.labels(eng.spec.name).inc(produced)
        for i in done:
            row = self.rows[i]
            text = row.text if row.text is not None else eng.tokenizer.decode(row.tokens, skip_special_tokens=True)
            row.req.resolve(GenerateResult(text=text.strip(), tokens=len(row.tokens), finish_reason=row.finish))
        next_tokens = torch.tensor([chosen[i] for i in keep], dtype=torch.long, device=eng.device)
        self._drop(done)
        if self.rows:
            self.mask = torch.cat([self.mask, self.mask.new_ones((len(self.rows), 1))], dim=1)
            out = eng.model(
                input_ids=next_tokens[:, None], attention_mask=self.mask,
                position_ids=self.positions[:, None], past_key_values=self.cache, use_cache=True,
            )
            self.cache = out.past_key_values
            self.logits = out.logits[:, -1, :].float()
            self.positions = self.positions + 1
            metrics.BATCH_SIZE.labels(eng.spec.name).observe(len(self.rows))
        eng._rate(produced, time.monotonic() - started)

    def fail_all(self, error: BaseException) -> None:
        for row in self.rows:
            row.req.fail(error)
        self.rows, self.cache, self.mask, self.positions, self.logits = [], None, None, None, None

    def _drop(self, indices: list[int]) -> None:
        """Remove rows (finished or abandoned) from the batch and trim padding nobody needs."""
        import torch

        if not indices:
            return
        gone = set(indices)
        keep = [i for i in range(len(self.rows)) if i not in gone]
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self.cache = self.mask = self.positions = self.logits = None
            return
        idx = torch.tensor(keep, dtype=torch.long, device=self.mask.device)
        self.cache.batch_select_indices(idx)
        self.mask = self.mask.index_select(0, idx)
        self.positions = self.positions.index_select(0, idx)
        self.logits = self.logits.index_select(0, idx)
        if self.can_join:  # plain dynamic layers: columns every remaining row pads can go
            used = self.mask.any(dim=0).nonzero()
            first = int(used[0]) if len(used) else 0
            if first > 0:
                self.mask = self.mask[:, first:]
                for layer in self.cache.layers:
                    layer.keys = layer.keys[:, :, first:, :]
                    layer.values = layer.values[:, :, first:, :]

    def _choose(self) -> list[int]:
        logits = self.logits
        chosen = logits.argmax(dim=-1)
        special = [i for i, r in enumerate(self.rows) if not r.plain_greedy]
        if special:
            chosen = chosen.cpu()
            for i in special:
                chosen[i] = _pick(self.rows[i], logits[i].float().cpu())
        return chosen.tolist()


def _pick(row: Row, logits):
    """Next token of one row: repetition penalty, temperature, top-k, top-p, then sample."""
    import torch

    if row.repetition_penalty and row.repetition_penalty != 1.0:
        seen = torch.tensor(sorted(set(row.prompt) | set(row.tokens)), dtype=torch.long)
        picked = logits[seen]
        logits[seen] = torch.where(picked < 0, picked * row.repetition_penalty, picked / row.repetition_penalty)
    if row.temperature <= 0:
        return int(logits.argmax())
    logits = logits / row.temperature
    if row.top_k and row.top_k < logits.numel():
        kth = torch.topk(logits, row.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if row.top_p is not None and 0 < row.top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop = probs.cumsum(-1) - probs > row.top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(0, order, sorted_logits)
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=row.generator))


def _joinable(cache) -> bool:
    """New sequences can be spliced in only when every cache layer is a plain growing DynamicLayer."""
    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:
        return False
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)
