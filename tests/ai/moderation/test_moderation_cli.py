"""`townsquare moderate`: ai.moderation.cli.run reads lines and writes JSON verdicts."""

import io
import json

from ai.moderation import ModerationRules
from ai.moderation.cli import main, run


def test_run_writes_one_verdict_per_line():
    out = io.StringIO()
    rc = run(io.StringIO("hello there\nfuck this lag\n\nkys\n"), out)
    assert rc == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["text"] for d in lines] == ["hello there", "fuck this lag", "kys"]
    assert [d["action"] for d in lines] == ["allow", "mask", "block"]
    assert lines[1]["masked_text"] == "### this lag" and lines[1]["categories"]["profanity"] == 0.7
    assert lines[2]["reasons"] and lines[0]["masked_text"] is None
    assert set(lines[0]) >= {"text", "action", "categories", "reasons", "masked_text"}


def test_run_with_rules():
    out = io.StringIO()
    assert run(io.StringIO("zorp\n"), out, ModerationRules(block_words=["zorp"])) == 0
    assert json.loads(out.getvalue())["action"] == "block"
    out = io.StringIO()
    assert run(io.StringIO("zorp\n"), out, {"mask_words": ["zorp"]}) == 0
    assert json.loads(out.getvalue())["masked_text"] == "###"


def test_run_rejects_bad_rules(capsys):
    assert run(io.StringIO("hi\n"), io.StringIO(), {"nope": 1}) == 2
    assert "bad rules" in capsys.readouterr().err


def test_main_reads_a_rules_file(tmp_path, monkeypatch, capsys):
    rules = tmp_path / "rules.json"
    rules.write_text('{"block_words": ["zorp"]}', encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("zorp\nok\n"))
    assert main(["--rules", str(rules)]) == 0
    actions = [json.loads(x)["action"] for x in capsys.readouterr().out.splitlines()]
    assert actions == ["block", "allow"]
    assert main(["--rules", str(tmp_path / "missing.yaml")]) == 2
