"""Embed, classify and translate through the queue; device choice; `pull_models`."""

import asyncio
import math

import pytest
import torch

from ai.inference import (
    DEFAULT_EMBED_MODEL_ID,
    InferenceError,
    InferenceService,
    ModelSpec,
    ModelUnavailable,
    Priority,
    default_specs,
    pull_models,
    resolve_device,
    resolve_dtype,
)
from ai.inference.pull import PullFailed

pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b))


@pytest.fixture(scope="module")
async def embedder():
    svc = InferenceService(default_specs())
    await svc.start()
    yield svc
    await svc.stop()


async def test_default_embedder_is_the_bundled_minilm(embedder):
    (status,) = embedder.status()
    assert status["name"] == "embed" and status["state"] == "loaded" and status["model_id"] == DEFAULT_EMBED_MODEL_ID
    texts = ["The baker sells fresh bread at the market.",
             "Fresh loaves are sold by the baker in the market square.",
             "The quarterly tax report is due on Friday."]
    vectors = await embedder.embed("embed", texts)
    assert len(vectors) == 3 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, abs_tol=1e-5) for v in vectors)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3
    one = await embedder.embed("embed", [texts[2]], priority=Priority.BACKGROUND)
    assert one[0] == pytest.approx(vectors[2], abs=1e-5)
    assert await embedder.embed("embed", []) == []
    with pytest.raises(TypeError):
        await embedder.embed("embed", "not a list")


async def test_embed_requests_are_batched_and_match_single_calls(embedder, metric):
    texts = [f"villager number {i} talks about the weather" for i in range(12)]
    singles = [(await embedder.embed("embed", [t]))[0] for t in texts]
    before = metric("townsquare_inference_batch_size_count", model="embed")
    before_one = metric("townsquare_inference_batch_size_bucket", model="embed", le="1.0")
    together = await asyncio.gather(*[embedder.embed("embed", [t]) for t in texts])
    batches = metric("townsquare_inference_batch_size_count", model="embed") - before
    ones = metric("townsquare_inference_batch_size_bucket", model="embed", le="1.0") - before_one
    assert batches < len(texts) and batches > ones
    for got, want in zip(together, singles):
        assert got[0] == pytest.approx(want, abs=1e-5)


async def test_classify_softmax_and_multilabel_sigmoid(
    make_service, tiny_bert_classifier_dir, tiny_bert_multilabel_dir, name, metric
):
    single, multi = name("tox"), name("tags")
    svc = await make_service(
        ModelSpec(single, "classify", str(tiny_bert_classifier_dir), max_batch_size=4, max_wait_ms=20),
        ModelSpec(multi, "classify", str(tiny_bert_multilabel_dir)),
    )
    texts = ["hello friend", "you stupid idiot", "buy cheap gold coins now , a scam", "good morning"]
    alone = [(await svc.classify(single, [t]))[0] for t in texts]
    together = await asyncio.gather(*[svc.classify(single, [t]) for t in texts])
    assert metric("townsquare_inference_batch_size_bucket", model=single, le="1.0") < metric(
        "townsquare_inference_batch_size_count", model=single)
    for (got,), want in zip(together, alone):
        assert set(got) == {"ok", "toxic", "spam"}
        assert math.isclose(sum(got.values()), 1.0, abs_tol=1e-5)
        assert got == pytest.approx(want, abs=1e-5)
    for got, want in zip(await svc.classify(single, texts), alone):  # one request, several texts
        assert got == pytest.approx(want, abs=1e-5)

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert_multilabel_dir)
    ref = AutoModelForSequenceClassification.from_pretrained(tiny_bert_multilabel_dir).eval()
    with torch.no_grad():
        expected = torch.sigmoid(ref(**tok(["you stupid idiot"], return_tensors="pt")).logits)[0].tolist()
    (scores,) = await svc.classify(multi, ["you stupid idiot"], priority=Priority.MODERATION, deadline=5)
    assert list(scores.values()) == pytest.approx(expected, abs=1e-5)


async def test_translate_marian_batched_equals_single(make_service, tiny_marian_dir, name):
    model = name("tr")
    svc = await make_service(ModelSpec(model, "translate", str(tiny_marian_dir), max_batch_size=8, max_wait_ms=20))
    texts = ["hello friend .", "where is the market ?", "the baker has fresh bread today", "thanks"]
    alone = [(await svc.translate(model, [t], source="en", target="fr"))[0] for t in texts]
    together = await asyncio.gather(*[svc.translate(model, [t], source="en", target="fr") for t in texts])
    assert [t[0] for t in together] == alone
    assert all(isinstance(t, str) for t in alone)
    assert await svc.translate(model, texts, source="en", target="fr", num_beams=2, max_new_tokens=5) == [
        (await svc.translate(model, [t], source="en", target="fr", num_beams=2, max_new_tokens=5))[0] for t in texts
    ]


async def test_translate_m2m100_sets_source_and_forced_target(make_service, tiny_m2m100_dir, name):
    model = name("tr")
    svc = await make_service(ModelSpec(model, "translate", str(tiny_m2m100_dir), max_batch_size=8, max_wait_ms=20))
    engine = svc._workers[model].engine
    calls = []
    real_generate = engine.model.generate

    def spy(**kwargs):
        calls.append(kwargs)
        return real_generate(**kwargs)

    engine.model.generate = spy
    texts = ["hello friend .", "where is the market ?"]
    to_fr = await svc.translate(model, texts, source="en", target="fr", max_new_tokens=6)
    await svc.translate(model, texts, source="de", target="es", max_new_tokens=6)
    tok = engine.tokenizer
    assert calls[0]["forced_bos_token_id"] == tok.get_lang_id("fr")
    assert calls[1]["forced_bos_token_id"] == tok.get_lang_id("es")
    assert calls[0]["input_ids"][0, 0] == tok.get_lang_id("en")  # src_lang prefixes the source
    assert calls[1]["input_ids"][0, 0] == tok.get_lang_id("de")
    assert len(to_fr) == 2 and not any(t.startswith("__fr__") for t in to_fr)
    single = [(await svc.translate(model, [t], source="en", target="fr", max_new_tokens=6))[0] for t in texts]
    assert single == to_fr
    with pytest.raises(InferenceError, match="not supported"):
        await svc.translate(model, texts, source="en", target="tlh")


def test_resolve_device_and_dtype():
    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ModelUnavailable, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelUnavailable, match="CUDA is not available"):
            resolve_device("cuda")
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="task"):
        ModelSpec("x", "dance", "somewhere")


def test_pull_models_reports_local_and_fails_clearly_offline(tiny_llama_dir, tmp_path):
    specs = [
        ModelSpec("npc", "generate", str(tiny_llama_dir)),
        ModelSpec("embed", "embed", DEFAULT_EMBED_MODEL_ID),
        ModelSpec("big", "generate", "Qwen/Qwen2.5-0.5B-Instruct", backend="openai", base_url="http://gpu:8000"),
    ]
    results = pull_models(specs, progress=False)
    assert [r["status"] for r in results] == ["already local", "bundled", "remote"]
    assert results[0]["path"] == str(tiny_llama_dir)

    with pytest.raises(PullFailed) as failed:
        pull_models(specs + [ModelSpec("mt", "translate", "Helsinki-NLP/opus-mt-en-de"),
                             ModelSpec("gone", "classify", str(tmp_path / "nowhere"))], progress=False)
    message = str(failed.value)
    assert "mt (Helsinki-NLP/opus-mt-en-de)" in message and "HF_HUB_OFFLINE" in message
    assert "no such directory" in message and "\n" not in message
    assert [r["status"] for r in failed.value.results][-2:] == ["failed", "failed"]
