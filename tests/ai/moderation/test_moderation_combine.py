"""Combining stages: thresholds per category, room overrides, the optional model."""

import json

import pytest

from ai.moderation import Action, ModerationRules, Moderator, Verdict


def test_action_order():
    assert Action.ALLOW.severity < Action.MASK.severity < Action.FLAG.severity < Action.BLOCK.severity
    assert Action.worst(Action.MASK, Action.FLAG, Action.ALLOW) is Action.FLAG
    assert Action.worst() is Action.ALLOW
    assert Action("mask") is Action.MASK and str(Action.BLOCK) == "block"


def test_verdict_to_dict_is_json(moderator):
    v = moderator.check_sync("fuck this")
    d = json.loads(json.dumps(v.to_dict()))
    assert d["action"] == "mask" and d["masked_text"] == "### this" and d["stage"] == "lexicon"
    assert d["categories"]["profanity"] == 0.7 and d["reasons"] and d["spans"] == [[0, 4]]
    assert isinstance(v, Verdict)


def test_block_beats_mask(moderator):
    v = moderator.check_sync("fuck you, and fuck this lag")
    assert v.action is Action.BLOCK and v.masked_text is None
    assert v.reasons[0].startswith("insult")


def test_room_override_switches_masking_off(moderator):
    room = {"thresholds": {"profanity": {"mask": None}}}
    assert moderator.check_sync("fuck this", room_rules=room).action is Action.ALLOW
    assert moderator.check_sync("fuck this").action is Action.MASK  # world rules untouched


def test_room_override_makes_a_strict_room(moderator):
    kids = {"thresholds": {"profanity": {"block": 0.5}, "insult": {"block": 0.4}}}
    assert moderator.check_sync("fuck this", room_rules=kids).action is Action.BLOCK
    assert moderator.check_sync("the boss AI is an idiot", room_rules=kids).action is Action.BLOCK
    assert moderator.check_sync("the boss AI is an idiot").action is Action.ALLOW


def test_room_override_of_lists_and_links(moderator):
    room = {"block_words": ["zorp"], "link_policy": "allow"}
    assert moderator.check_sync("zorp", room_rules=room).action is Action.BLOCK
    assert moderator.check_sync("see example.com", room_rules=room).action is Action.ALLOW
    assert moderator.check_sync("see example.com").action is Action.MASK


def test_bad_room_override_is_an_error(moderator):
    with pytest.raises(ValueError):
        moderator.check_sync("hi", room_rules={"no_such_rule": 1})


def test_bad_kind_is_an_error(moderator):
    with pytest.raises(ValueError):
        moderator.check_sync("hi", kind="shout")


def test_empty_text_is_allowed(moderator):
    v = moderator.check_sync("   ")
    assert v.action is Action.ALLOW and v.categories == {}


class FakeModel:
    """Stands in for the inference queue: records calls, returns canned label scores."""

    def __init__(self, labels=None, error=None, wrong_length=False):
        self.calls = []
        self.labels = labels or {}
        self.error = error
        self.wrong_length = wrong_length

    async def __call__(self, texts):
        self.calls.append(list(texts))
        if self.error:
            raise self.error
        if self.wrong_length:
            return []
        return [dict(self.labels) for _ in texts]


async def test_model_scores_are_mapped_onto_categories():
    fake = FakeModel({"toxic": 0.3, "insult": 0.95, "identity_hate": 0.1, "sexual_explicit": 0.2})
    v = await Moderator(model_classify=fake).check("hello friend")
    assert v.action is Action.BLOCK and v.stage == "model"
    assert v.categories["insult"] == 0.95 and v.categories["hate"] == 0.1 and v.categories["sexual"] == 0.2
    assert v.categories["toxicity"] == 0.3
    assert fake.calls == [["hello friend"]]


async def test_model_toxicity_flags_and_unmaskable_profanity_flags():
    assert (await Moderator(model_classify=FakeModel({"toxic": 0.95})).check("hmm")).action is Action.FLAG
    assert (await Moderator(model_classify=FakeModel({"obscene": 0.7})).check("hmm")).action is Action.FLAG


async def test_model_sees_the_deobfuscated_text_and_a_batch_is_one_call():
    fake = FakeModel({"toxic": 0.01})
    m = Moderator(model_classify=fake)
    vs = await m.check_many(["ＨＥＬＬＯ", "fri\u200bend", "kys"])
    assert [v.action for v in vs] == [Action.ALLOW, Action.ALLOW, Action.BLOCK]
    assert fake.calls == [["HELLO", "friend"]]  # blocked lines never reach the model


async def test_model_is_skipped_when_rules_already_block():
    fake = FakeModel({"toxic": 0.01})
    v = await Moderator(ModerationRules(block_words=["zorp"]), model_classify=fake).check("zorp")
    assert v.action is Action.BLOCK and fake.calls == []


@pytest.mark.parametrize("fake", [FakeModel(error=RuntimeError("overloaded")), FakeModel(error=TimeoutError()),
                                  FakeModel(wrong_length=True)])
async def test_model_failure_still_gives_a_verdict(fake):
    m = Moderator(model_classify=fake)
    v = await m.check("fuck this lag")
    assert v.action is Action.MASK and v.masked_text == "### this lag"
    assert "model unavailable" in v.reasons
    ok = await m.check("hello")
    assert ok.action is Action.ALLOW and ok.reasons == ["model unavailable"]
    st = m.status()["model"]
    assert st["configured"] and st["failures"] == 2 and st["last_error"]


def test_check_sync_never_calls_the_model():
    fake = FakeModel({"insult": 0.99})
    v = Moderator(model_classify=fake).check_sync("hello")
    assert v.action is Action.ALLOW and fake.calls == []


async def test_check_and_check_sync_agree_without_a_model(moderator):
    for text in ["hello", "fuck this", "kys", "see example.com", "i want to kill myself"]:
        a, b = await moderator.check(text), moderator.check_sync(text)
        assert a.to_dict() == b.to_dict()


def test_status_lists_every_stage():
    st = Moderator(ModerationRules(block_words=["a", "b"])).status()
    assert set(st) == {"normalize", "rules", "lexicon", "bundled_model", "model"}
    assert st["rules"]["block_words"] == 2 and st["lexicon"]["active"] and st["lexicon"]["terms"] > 300
    assert st["model"] == {"configured": False, "calls": 0, "failures": 0, "last_error": None}
    json.dumps(st)
