"""Transformers engines: load one model and run whole batches of requests through it.

An engine is created and used by exactly one worker thread. `run(batch)` takes a list of
requests of one compatible group and returns one result per request, in order.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from .queue import Request
from .spec import ModelSpec

log = logging.getLogger("ai.inference")

# transformers' lazy modules are not safe to import from several threads at once, so workers
# load one model at a time (forward passes still run in parallel).
_LOAD_LOCK = threading.Lock()

#: ISO 639-1 -> FLORES-200 codes used by NLLB tokenizers (callers may also pass FLORES codes)
NLLB_CODES = {
    "ar": "arb_Arab", "bg": "bul_Cyrl", "cs": "ces_Latn", "da": "dan_Latn", "de": "deu_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "et": "est_Latn", "fa": "pes_Arab",
    "fi": "fin_Latn", "fr": "fra_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hu": "hun_Latn",
    "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang", "lt": "lit_Latn",
    "lv": "lvs_Latn", "nl": "nld_Latn", "no": "nob_Latn", "pl": "pol_Latn", "pt": "por_Latn",
    "ro": "ron_Latn", "ru": "rus_Cyrl", "sk": "slk_Latn", "sl": "slv_Latn", "sv": "swe_Latn",
    "th": "tha_Thai", "tr": "tur_Latn", "uk": "ukr_Cyrl", "vi": "vie_Latn", "zh": "zho_Hans",
}


class Engine:
    """Common loading: tokenizer + model on the resolved device and dtype."""

    auto_class = "AutoModel"

    def __init__(self, spec: ModelSpec, path: Path, device: str, dtype) -> None:
        self.spec = spec
        self.path = path
        self.device = device
        self.dtype = dtype
        with _LOAD_LOCK:
            import transformers

            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                str(path), trust_remote_code=spec.trust_remote_code
            )
            model_cls = getattr(transformers, self.auto_class)
            kwargs = dict(spec.extra)
            kwargs.setdefault("dtype", dtype)
            self.model = model_cls.from_pretrained(str(path), trust_remote_code=spec.trust_remote_code, **kwargs)
            self.model.to(device).eval()
        self.max_input_tokens = spec.max_input_tokens or self._model_limit()

    def _model_limit(self) -> int:
        limits = [getattr(self.model.config, "max_position_embeddings", None),
                  getattr(self.tokenizer, "model_max_length", None)]
        limits = [int(x) for x in limits if isinstance(x, (int, float)) and 0 < x < 1_000_000]
        return min(limits) if limits else 512

    def run(self, batch: list[Request]) -> list[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Drop the weights (and give GPU memory back)."""
        self.model = None
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    # texts of several requests, sorted by length and cut into forward-sized chunks
    def _chunks(self, texts: list[str]):
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.spec.max_batch_size
        for start in range(0, len(order), size):
            idx = order[start:start + size]
            yield idx, [texts[i] for i in idx]

    def _encode(self, texts: list[str]):
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_input_tokens, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in enc.items()}


def _flatten(batch: list[Request]) -> list[str]:
    return [text for req in batch for text in req.payload]


def _split(batch: list[Request], flat: list[Any]) -> list[list[Any]]:
    out, pos = [], 0
    for req in batch:
        n = len(req.payload)
        out.append(flat[pos:pos + n])
        pos += n
    return out


class EmbedEngine(Engine):
    """Sentence embeddings: pooled last hidden state (mean by default), L2-normalised."""

    auto_class = "AutoModel"

    def __init__(self, spec: ModelSpec, path: Path, device: str, dtype) -> None:
        super().__init__(spec, path, device, dtype)
        self.pooling = "mean"
        pooling_cfg = path / "1_Pooling" / "config.json"
        if pooling_cfg.is_file():
            cfg = json.loads(pooling_cfg.read_text())
            if cfg.get("pooling_mode_cls_token"):
                self.pooling = "cls"
            elif cfg.get("pooling_mode_max_tokens"):
                self.pooling = "max"
        st_cfg = path / "sentence_bert_config.json"
        if st_cfg.is_file() and not spec.max_input_tokens:
            max_len = json.loads(st_cfg.read_text()).get("max_seq_length")
            if max_len:
                self.max_input_tokens = min(self.max_input_tokens, int(max_len))
        self.dim = int(self.model.config.hidden_size)

    def run(self, batch: list[Request]) -> list[list[list[float]]]:
        import torch

        texts = _flatten(batch)
        vectors: list[Any] = [None] * len(texts)
        with torch.inference_mode():
            for idx, chunk in self._chunks(texts):
                enc = self._encode(chunk)
                hidden = self.model(**enc).last_hidden_state.float()
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                elif self.pooling == "max":
                    pooled = hidden.masked_fill(mask == 0, float("-inf")).max(dim=1).values
                else:
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1).cpu().tolist()
                for i, vec in zip(idx, pooled):
                    vectors[i] = vec
        return _split(batch, vectors)


class ClassifyEngine(Engine):
    """Sequence classification: {label: score}, sigmoid for multi-label configs, softmax otherwise."""

    auto_class = "AutoModelForSequenceClassification"

    def __init__(self, spec: ModelSpec, path: Path, device: str, dtype) -> None:
        super().__init__(spec, path, device, dtype)
        cfg = self.model.config
        self.multi_label = cfg.problem_type == "multi_label_classification"
        self.labels = [str(cfg.id2label.get(i, f"LABEL_{i}")) for i in range(cfg.num_labels)]

    def run(self, batch: list[Request]) -> list[list[dict[str, float]]]:
        import torch

        texts = _flatten(batch)
        scores: list[Any] = [None] * len(texts)
        with torch.inference_mode():
            for idx, chunk in self._chunks(texts):
                logits = self.model(**self._encode(chunk)).logits.float()
                probs = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
                for i, row in zip(idx, probs.cpu().tolist()):
                    scores[i] = dict(zip(self.labels, row))
        return _split(batch, scores)


class TranslateEngine(Engine):
    """Seq2seq translation: Marian (direction fixed by the model, or >>xx<< target tokens),
    M2M100 and NLLB (src_lang on the tokenizer, target forced as the first generated token)."""

    auto_class = "AutoModelForSeq2SeqLM"

    def __init__(self, spec: ModelSpec, path: Path, device: str, dtype) -> None:
        super().__init__(spec, path, device, dtype)
        name = type(self.tokenizer).__name__.lower()
        if "nllb" in name:
            self.family = "nllb"
        elif "m2m" in name or self.model.config.model_type == "m2m_100":
            self.family = "m2m100"
        else:
            self.family = "marian"
        self.target_tokens = list(getattr(self.tokenizer, "supported_language_codes", None) or [])

    def _lang_token_id(self, code: str) -> int:
        tok = self.tokenizer
        if self.family == "m2m100" and hasattr(tok, "get_lang_id"):
            try:
                return tok.get_lang_id(code)
            except KeyError:
                raise ValueError(f"language {code!r} is not supported by {self.spec.model_id}") from None
        token = NLLB_CODES.get(code, code) if self.family == "nllb" else code
        token_id = tok.convert_tokens_to_ids(token)
        if token_id is None or token_id == tok.unk_token_id:
            raise ValueError(f"language {code!r} is not supported by {self.spec.model_id}")
        return token_id

    def run(self, batch: list[Request]) -> list[list[str]]:
        import torch

        params = batch[0].params
        source, target = params["source"], params["target"]
        gen_kwargs: dict[str, Any] = {}
        if params.get("num_beams"):
            gen_kwargs["num_beams"] = params["num_beams"]
        # a translation is about as long as its source: by default cap it from the request's
        # length bucket (not the batch's), so a result never depends on its batch company
        gen_kwargs["max_new_tokens"] = params.get("max_new_tokens") or min(
            self.max_input_tokens, (1 << params["length_bucket"]) + 16
        )
        texts = _flatten(batch)
        if self.family in ("nllb", "m2m100"):
            self.tokenizer.src_lang = NLLB_CODES.get(source, source) if self.family == "nllb" else source
            gen_kwargs["forced_bos_token_id"] = self._lang_token_id(target)
        elif self.target_tokens:  # multilingual Marian: the target is a prefix token
            token = f">>{target}<<"
            if token not in self.target_tokens:
                raise ValueError(f"language {target!r} is not supported by {self.spec.model_id}")
            texts = [f"{token} {t}" for t in texts]
        out: list[Any] = [None] * len(texts)
        with torch.inference_mode():
            for idx, chunk in self._chunks(texts):
                enc = self._encode(chunk)
                generated = self.model.generate(**enc, **gen_kwargs)
                if "forced_bos_token_id" in gen_kwargs:  # not every tokenizer treats it as special
                    forced = gen_kwargs["forced_bos_token_id"]
                    generated = [[t for t in seq if t != forced] for seq in generated.tolist()]
                for i, text in zip(idx, self.tokenizer.batch_decode(generated, skip_special_tokens=True)):
                    out[i] = text.strip()
        return _split(batch, out)
