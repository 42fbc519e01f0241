"""Stage 3: the bundled `alt-profanity-check` model (TF-IDF + linear SVM, cheap on CPU).

It scores a whole line and, scored one word at a time over its vocabulary once at load, gives
a per-word profanity score used to mask single words that the lexicon does not know. It runs from
plain tables read out of the pickles once (`profanity_table`), so the world process never imports
scikit-learn; when that fails the pickles are loaded here as before.
"""

from __future__ import annotations

import logging
import threading
import warnings
from importlib import metadata

from .profanity_table import ProfanityTable, load_table

__all__ = ["BundledModel", "get_bundled_model"]

log = logging.getLogger(__name__)


class BundledModel:
    name = "alt-profanity-check"

    def __init__(self) -> None:
        self.available = False
        self.error: str | None = None
        self.version: str | None = None
        self._predict = None
        self._fast: _FastLinear | ProfanityTable | None = None
        self._word_scores: dict[str, float] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Load the model once; False (with `error` set) when it cannot be loaded."""
        with self._lock:
            if self._loaded:
                return self.available
            self._loaded = True
            try:
                self._fast = load_table()
                self._word_scores = {}
                self.version = _package_version()
                self.available = True
                return True
            except Exception as exc:  # no cache and the extraction failed: the pickles in this process
                log.info("bundled profanity model: plain tables unavailable (%s); loading scikit-learn", exc)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # sklearn version-skew warnings on unpickle
                    from profanity_check import predict_prob
                    from profanity_check.profanity_check import model, vectorizer

                    vocab = list(vectorizer.vocabulary_)
                    scores = predict_prob(vocab)
                    self._fast = _FastLinear.build(model, vectorizer, predict_prob)
                self._predict = predict_prob
                self._word_scores = {w: float(s) for w, s in zip(vocab, scores)}
                self.version = _package_version()
                self.available = True
            except Exception as exc:  # missing package, unreadable pickle, sklearn mismatch
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("bundled profanity model unavailable: %s", self.error)
            return self.available

    def line_scores(self, texts: list[str]) -> list[float]:
        """Probability that each text is offensive (0.0 for empty texts)."""
        if not self.available or not texts:
            return [0.0] * len(texts)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        out = [0.0] * len(texts)
        if idx:
            if self._fast is not None:
                probs = [self._fast.prob(texts[i]) for i in idx]
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    probs = self._predict([texts[i] for i in idx])
            for i, p in zip(idx, probs):
                out[i] = float(p)
        return out

    @property
    def fast_path(self) -> bool:
        """Whether lines are scored by the direct linear form instead of sklearn calls."""
        return self._fast is not None

    @property
    def in_process_sklearn(self) -> bool:
        """Whether the pickles were loaded in this process (the plain tables could not be used)."""
        return self.available and not isinstance(self._fast, ProfanityTable)

    def word_score(self, word: str) -> float:
        """Score of the word on its own; 0.0 for words outside the model's vocabulary."""
        if isinstance(self._fast, ProfanityTable):
            return self._fast.word_score(word)
        return self._word_scores.get(word, 0.0)


def _package_version() -> str | None:
    try:
        return metadata.version("alt-profanity-check")
    except metadata.PackageNotFoundError:
        return None


class _FastLinear:
    """The same probabilities as `predict_prob`, computed directly: TF-IDF of one short line
    dotted with the 5 LinearSVC weight vectors, each passed through its sigmoid calibration,
    then averaged. About 100x cheaper than sklearn's per-call overhead on one line.

    Built only when the pickled model has exactly the expected shape, and checked against
    `predict_prob` on probe texts; otherwise the caller keeps using `predict_prob`.
    """

    def __init__(self, analyzer, vocab, idf, weights, intercepts, cal_a, cal_b) -> None:
        self.analyzer = analyzer
        self.vocab = vocab
        self.idf = idf
        self.weights = weights  # (n_features, n_models)
        self.intercepts = intercepts
        self.cal_a = cal_a
        self.cal_b = cal_b

    @classmethod
    def build(cls, model, vectorizer, predict_prob) -> _FastLinear | None:
        import numpy as np

        try:
            if (
                getattr(vectorizer, "analyzer", None) != "word"
                or tuple(getattr(vectorizer, "ngram_range", ())) != (1, 1)
                or getattr(vectorizer, "norm", None) != "l2"
                or getattr(vectorizer, "sublinear_tf", True)
                or getattr(vectorizer, "binary", True)
                or not getattr(vectorizer, "use_idf", False)
                or list(getattr(model, "classes_", [])) != [0, 1]
                or getattr(model, "method", None) != "sigmoid"
            ):
                return None
            ccs = model.calibrated_classifiers_
            if not ccs or any(len(c.calibrators) != 1 for c in ccs):
                return None
            weights = np.stack([np.asarray(c.estimator.coef_, dtype=float).ravel() for c in ccs], axis=1)
            intercepts = np.array([float(np.ravel(c.estimator.intercept_)[0]) for c in ccs])
            cal_a = np.array([float(c.calibrators[0].a_) for c in ccs])
            cal_b = np.array([float(c.calibrators[0].b_) for c in ccs])
            fast = cls(
                vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), np.asarray(vectorizer.idf_, dtype=float),
                weights, intercepts, cal_a, cal_b,
            )
            probes = ["you are a fucking idiot", "kill the boss first then loot", "hello there friend",
                      "", "zzqx", "shit shit happens to the best of us", "what the hell is this crap"]
            expected = predict_prob(probes)
            if not np.allclose([fast.prob(t) for t in probes], expected, atol=1e-9):
                return None
            return fast
        except Exception:  # an unexpected pickle layout: use predict_prob
            return None

    def prob(self, text: str) -> float:
        import numpy as np

        counts: dict[int, int] = {}
        for token in self.analyzer(text):
            j = self.vocab.get(token)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if counts:
            idx = list(counts)
            w = np.fromiter((counts[j] for j in idx), dtype=float, count=len(idx)) * self.idf[idx]
            w /= np.sqrt(w @ w)
            decision = w @ self.weights[idx] + self.intercepts
        else:
            decision = self.intercepts
        return float(np.mean(1.0 / (1.0 + np.exp(self.cal_a * decision + self.cal_b))))


_shared: BundledModel | None = None
_shared_lock = threading.Lock()


def get_bundled_model() -> BundledModel:
    """The process-wide bundled model, loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = BundledModel()
    _shared.load()
    return _shared
