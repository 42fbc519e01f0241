"""Translator: cache, shared in-flight work, pivoting, errors; and the real batched path of the
shared inference queue with the tiny random Marian and M2M100 models."""

import asyncio

import pytest

from ai.inference import DeadlineExceeded, InferenceService, ModelSpec, Overloaded, Priority
from ai.translation import (
    InferenceBackend,
    NoBackend,
    TranslationCache,
    TranslationUnavailable,
    Translator,
    pair_name,
    translation_specs,
)
from tests.ai.translation.fakes import FakeBackend


async def test_cache_hits_on_repeats_and_templates_share_entries():
    fake = FakeBackend()
    tr = Translator(fake, cache=TranslationCache(100))
    assert await tr.translate("thanks @ana", "en", "es") == "<es> thanks @ana"
    assert await tr.translate("thanks @ana", "en", "es") == "<es> thanks @ana"
    assert await tr.translate("thanks @bo", "en", "es") == "<es> thanks @bo"  # same template "thanks [1]"
    assert len(fake.calls) == 1 and fake.calls[0][1] == ["thanks [1]"]
    assert tr.cache.hits == 2 and tr.cache.misses == 1
    await tr.translate("thanks @ana", "en", "de")  # another target: another entry
    assert len(fake.calls) == 2
    assert tr.cached("thanks @zed", "en", "de") == "<de> thanks @zed"


async def test_concurrent_requests_for_one_text_share_one_computation():
    fake = FakeBackend(delay=0.05)
    tr = Translator(fake)
    out = await asyncio.gather(*[tr.translate("where is the inn", "en", "fr") for _ in range(5)])
    assert set(out) == {"<fr> where is the inn"} and len(fake.calls) == 1


async def test_protected_spans_come_back_whatever_the_model_does():
    text = "ask Rosalind at https://shop.example/bread about `/buy 2` 🍞 @tom"
    for mode in ("keep", "drop", "move"):
        tr = Translator(FakeBackend(placeholders=mode))
        out = await tr.translate(text, "en", "es", names=["Rosalind"])
        for span in ("Rosalind", "https://shop.example/bread", "`/buy 2`", "🍞", "@tom"):
            assert out.count(span) == 1, (mode, out)


async def test_missing_pair_goes_through_the_pivot():
    fake = FakeBackend(pairs={("es", "en"), ("en", "de")})
    tr = Translator(fake)
    assert await tr.translate("hola amigos", "es", "de") == "<de> <en> hola amigos"
    assert [c[2:] for c in fake.calls] == [("es", "en"), ("en", "de")]
    assert tr.cached("hola amigos", "es", "en") == "<en> hola amigos"  # the half-way text is cached too
    assert not tr.can("de", "fr")
    with pytest.raises(TranslationUnavailable) as e:
        await tr.translate("hallo", "de", "fr")
    assert e.value.reason == "no_model"


@pytest.mark.parametrize("exc,reason", [(Overloaded("full"), "overloaded"), (DeadlineExceeded("late"), "timeout"),
                                        (ValueError("language 'xx' is not supported"), "unsupported"),
                                        (RuntimeError("boom"), "error")])
async def test_model_errors_become_unavailable_with_a_reason(exc, reason):
    tr = Translator(FakeBackend(fail=exc))
    with pytest.raises(TranslationUnavailable) as e:
        await tr.translate("good morning", "en", "es")
    assert e.value.reason == reason
    assert await tr.translate_many(["good morning"], "en", "es") == [None]
    assert tr.failures == 2 and len(tr.cache) == 0


async def test_no_backend_and_lines_without_words():
    tr = Translator(NoBackend())
    assert not tr.can("en", "es") and tr.can("en", "en")
    with pytest.raises(TranslationUnavailable):
        await tr.translate("hello there", "en", "es")
    assert await tr.translate("😀 @bob", "en", "es") == "😀 @bob"  # nothing to translate, no model needed


def test_specs_from_a_template_are_pairs_through_english():
    specs = translation_specs("Helsinki-NLP/opus-mt-{src}-{tgt}", ["en", "es", "de"], direct=["es-de"],
                              device="cpu")
    assert [s.name for s in specs] == [pair_name(*p) for p in [("es", "en"), ("en", "es"), ("de", "en"),
                                                                ("en", "de"), ("es", "de")]]
    assert specs[0].model_id == "Helsinki-NLP/opus-mt-es-en" and specs[0].task == "translate"
    (single,) = translation_specs("facebook/m2m100_418M", ["en", "es"])
    assert single.name == "translate"
    assert translation_specs("", ["en"]) == []


@pytest.fixture
async def service():
    services = []

    async def make(*specs):
        svc = InferenceService(list(specs))
        services.append(svc)
        await svc.start()
        return svc

    yield make
    for svc in services:
        await asyncio.wait_for(svc.stop(), timeout=30)


def _batches(model):
    from prometheus_client import REGISTRY

    count = REGISTRY.get_sample_value("townsquare_inference_batch_size_count", {"model": model}) or 0.0
    ones = REGISTRY.get_sample_value("townsquare_inference_batch_size_bucket", {"model": model, "le": "1.0"}) or 0.0
    return count, ones


async def test_tiny_marian_through_the_queue_batched_and_protected(service, tiny_marian_dir):
    svc = await service(ModelSpec("translate", "translate", str(tiny_marian_dir), device="cpu", max_batch_size=8,
                                  max_wait_ms=50))
    tr = Translator(InferenceBackend(svc))
    texts = [f"hello friend {w} @tom 🍞" for w in ("one", "two", "three", "four", "five", "six")]
    before = _batches("translate")
    out = await asyncio.gather(*[tr.translate(t, "en", "es", names=["Rosalind"]) for t in texts])
    count, ones = (a - b for a, b in zip(_batches("translate"), before))
    assert count >= 1 and count > ones, "the six lines never shared a forward batch"
    assert tr.requests == 6
    for o in out:  # gibberish from random weights, but made by the model, spans kept
        assert isinstance(o, str) and o.count("@tom") == 1 and o.count("🍞") == 1
    # the same lines again: all from the cache, no model call
    again = await asyncio.gather(*[tr.translate(t, "en", "es") for t in texts])
    assert again == out and tr.requests == 6


async def test_tiny_m2m100_many_to_many_and_pair_models_with_pivot(service, tiny_m2m100_dir, tiny_marian_dir):
    svc = await service(
        ModelSpec("translate", "translate", str(tiny_m2m100_dir), device="cpu", max_wait_ms=5),
    )
    tr = Translator(InferenceBackend(svc))
    assert (await tr.translate("where is the market ?", "es", "de"))  # any pair, one model
    pairs = await service(ModelSpec(pair_name("es", "en"), "translate", str(tiny_marian_dir), device="cpu"),
                          ModelSpec(pair_name("en", "de"), "translate", str(tiny_marian_dir), device="cpu"))
    backend = InferenceBackend(pairs)
    assert backend.route("es", "de") == [(pair_name("es", "en"), "es", "en"), (pair_name("en", "de"), "en", "de")]
    assert backend.route("es", "en") == [(pair_name("es", "en"), "es", "en")]
    assert backend.route("de", "es") is None and "no model for de->es" in backend.why_not("de", "es")
    tr2 = Translator(backend)
    assert isinstance(await tr2.translate("the baker has bread", "es", "de"), str) and tr2.requests == 2


async def test_priority_is_translation_and_unknown_models_are_explained():
    class Spy:
        def __init__(self):
            self.kw = None

        def available(self, name):
            return name == "translate"

        def status(self):
            return [{"name": "translate", "task": "translate", "state": "loaded", "reason": ""}]

        async def translate(self, model, texts, **kw):
            self.kw = kw
            return list(texts)

    spy = Spy()
    await Translator(InferenceBackend(spy, num_beams=1)).translate("good bread", "en", "es")
    assert spy.kw["priority"] == Priority.TRANSLATION and spy.kw["num_beams"] == 1
    assert spy.kw["max_new_tokens"] == 24 and 9 < spy.kw["deadline"] <= 10.0  # "good bread": bucket of 8-15 chars
    assert "no translation model configured" in InferenceBackend(None).why_not("en", "es")
