"""The bundled profanity model as plain tables, so the world process scores lines without
scikit-learn or scipy (~100 MiB of a world's memory).

`alt-profanity-check` is a TF-IDF vectorizer and five calibrated linear SVMs pickled for
scikit-learn. Once per installed version a subprocess unpickles them, reads out the vocabulary,
idf weights, SVM weights and sigmoid calibrations (plus every word's own score), checks that the
tables give `predict_prob`'s probabilities, and prints them as JSON; the world caches that file
and scores lines with the standard library. Run as `python -m ai.moderation.profanity_table` to
print the tables.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import subprocess
import sys
from array import array
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 1
EXTRACT_TIMEOUT_S = 120.0
PROBES = ["you are a fucking idiot", "kill the boss first then loot", "hello there friend", "", "zzqx",
          "shit shit happens to the best of us", "what the hell is this crap", "FUCK", "Ünïcode wörds",
          "you stupid idiot moron", "nice weather for fishing", "what a jerk, seriously"]


class ProfanityTable:
    """TF-IDF (word unigrams, l2) -> 5 linear scores -> sigmoid calibrations -> their mean."""

    def __init__(self, data: dict) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"profanity table format {data.get('format')!r}, expected {FORMAT}")
        words = data["vocabulary"]
        self.n_models = len(data["intercepts"])
        self.vocab = {w: i for i, w in enumerate(words)}
        self.idf = array("d", data["idf"])
        self.weights = array("d", (x for row in data["weights"] for x in row))  # row-major (word, model)
        self.intercepts = list(data["intercepts"])
        self.cal_a = list(data["cal_a"])
        self.cal_b = list(data["cal_b"])
        self.word_scores = array("d", data["word_scores"])
        self.pattern = re.compile(data["token_pattern"])
        self.lowercase = bool(data["lowercase"])

    def prob(self, text: str) -> float:
        counts: dict[int, int] = {}
        for token in self.pattern.findall(text.lower() if self.lowercase else text):
            j = self.vocab.get(token)  # stop words never made the vocabulary, so they drop out here too
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        decision = list(self.intercepts)
        if counts:
            tfidf = {j: c * self.idf[j] for j, c in counts.items()}
            norm = math.sqrt(sum(v * v for v in tfidf.values()))
            m = self.n_models
            for j, v in tfidf.items():
                v /= norm
                for k in range(m):
                    decision[k] += v * self.weights[j * m + k]
        return math.fsum(1.0 / (1.0 + math.exp(a * d + b))
                         for a, b, d in zip(self.cal_a, self.cal_b, decision)) / self.n_models

    def word_score(self, word: str) -> float:
        j = self.vocab.get(word)
        return 0.0 if j is None else self.word_scores[j]


def cache_path() -> Path:
    """Where the extracted tables are kept, keyed by the installed versions they came from."""
    root = os.environ.get("TOWNSQUARE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "townsquare")
    key = "-".join(_version(p) for p in ("alt-profanity-check", "scikit-learn"))
    return Path(root) / f"profanity-table-v{FORMAT}-{key}.json"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def load_table() -> ProfanityTable:
    """The cached tables, extracted first by a subprocess when missing. Raises on any failure
    (the caller then loads the pickles in-process as before)."""
    path = cache_path()
    try:
        return ProfanityTable(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        pass
    proc = subprocess.run([sys.executable, "-m", __name__], capture_output=True, timeout=EXTRACT_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"extracting the profanity tables failed: {proc.stderr.decode(errors='replace')[-300:]}")
    data = json.loads(proc.stdout)
    table = ProfanityTable(data)
    try:  # best effort: an unwritable cache only means extracting again next start
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(proc.stdout)
        os.replace(tmp, path)
    except OSError as exc:
        log.info("profanity tables not cached (%s): extracted again at the next start", exc)
    return table


def extract() -> dict:
    """Read the tables out of the pickled scikit-learn objects and check them against `predict_prob`."""
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn version-skew warnings on unpickle
        from profanity_check import predict_prob
        from profanity_check.profanity_check import model, vectorizer

        v = vectorizer
        if (v.analyzer != "word" or tuple(v.ngram_range) != (1, 1) or v.norm != "l2" or v.sublinear_tf
                or v.binary or not v.use_idf or v.preprocessor is not None or v.tokenizer is not None
                or v.strip_accents is not None or list(model.classes_) != [0, 1] or model.method != "sigmoid"):
            raise ValueError("unexpected alt-profanity-check model layout")
        ccs = model.calibrated_classifiers_
        if not ccs or any(len(c.calibrators) != 1 for c in ccs):
            raise ValueError("unexpected calibration layout")
        words = [w for w, _ in sorted(v.vocabulary_.items(), key=lambda kv: kv[1])]
        weights = np.stack([np.asarray(c.estimator.coef_, dtype=float).ravel() for c in ccs], axis=1)
        data = {
            "format": FORMAT,
            "vocabulary": words,
            "idf": [float(x) for x in v.idf_],
            "weights": weights.tolist(),
            "intercepts": [float(np.ravel(c.estimator.intercept_)[0]) for c in ccs],
            "cal_a": [float(c.calibrators[0].a_) for c in ccs],
            "cal_b": [float(c.calibrators[0].b_) for c in ccs],
            "word_scores": [float(s) for s in predict_prob(words)],
            "token_pattern": v.token_pattern,
            "lowercase": bool(v.lowercase),
        }
        table = ProfanityTable(data)
        probes = PROBES + words[::97]
        for text, want in zip(probes, predict_prob(probes)):
            if abs(table.prob(text) - float(want)) > 1e-9:
                raise ValueError(f"the tables disagree with predict_prob on {text!r}")
    return data


if __name__ == "__main__":
    json.dump(extract(), sys.stdout)
