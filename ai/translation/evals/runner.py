"""Runs the language-id eval (cases.yaml) against a `LanguageIdentifier`: every line with the
sender's language right and wrong, a pass rate per category and prior and per language."""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..langid import LanguageIdentifier

CASES = Path(__file__).with_name("cases.yaml")
# the names in the room (what the chat stage passes as `names`): residents and players
NAMES = ["Mira", "Tobin", "Odessa", "ana", "bob", "carla"]
CATEGORIES = ("short", "sentence", "names")


def load_cases(path: Path | str = CASES) -> list[dict[str, Any]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = data["cases"] if isinstance(data, dict) else data
    for i, case in enumerate(cases):
        if not {"lang", "cat", "say"} <= case.keys():
            raise ValueError(f"case {i + 1} wants lang, cat and say: {case}")
    return cases


def wrong_prior(case: dict[str, Any], languages: list[str]) -> str:
    """Another world language for the sender, fixed per line (a hash of it, not its place in the file)."""
    others = [lang for lang in languages if lang != case["lang"] and lang not in case.get("also", ())]
    return others[zlib.crc32(case["say"].encode()) % len(others)]


@dataclass
class Report:
    accuracy: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def rates(self, key: str) -> dict[str, tuple[int, int]]:
        """(passed, run) per value of `key` ("bucket": category/prior, "lang", "prior"), and "all"."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.rows:
            for k in (r[key], "all"):
                out[k][0] += r["ok"]
                out[k][1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    @property
    def passed(self) -> int:
        return sum(r["ok"] for r in self.rows)

    def format(self) -> str:
        def pct(p: int, n: int) -> str:
            return f"{p}/{n} ({100 * p / max(n, 1):.0f}%)"

        lines = [f"language id eval ({self.accuracy} accuracy): {len(self.rows) // 2} lines, each with the "
                 f"sender's language right and wrong: {pct(self.passed, len(self.rows))}"]
        buckets = self.rates("bucket")
        lines.append("  " + "category".ljust(10) + "prior right".ljust(18) + "prior wrong")
        for cat in CATEGORIES:
            right, wrong = buckets.get(f"{cat}/right", (0, 0)), buckets.get(f"{cat}/wrong", (0, 0))
            lines.append(f"  {cat:<10}{pct(*right):<18}{pct(*wrong)}")
        by_prior = self.rates("prior")
        lines.append(f"  {'all':<10}{pct(*by_prior.get('right', (0, 0))):<18}{pct(*by_prior.get('wrong', (0, 0)))}")
        by_lang = self.rates("lang_prior")
        lines.append("  " + "language".ljust(10) + "prior right".ljust(18) + "prior wrong")
        for lang in sorted({r["lang"] for r in self.rows}):
            lines.append(f"  {lang:<10}{pct(*by_lang.get(f'{lang}/right', (0, 0))):<18}"
                         f"{pct(*by_lang.get(f'{lang}/wrong', (0, 0)))}")
        for r in self.rows:
            if not r["ok"]:
                lines.append(f"  FAIL [{r['lang']} {r['cat']}, prior {r['prior_lang']}] {r['say']!r}: "
                             f"got {r['got']} ({r['reason']})")
        return "\n".join(lines)


def run(cases: list[dict[str, Any]], langid: LanguageIdentifier, names: list[str] = NAMES) -> Report:
    report = Report(langid.accuracy)
    for case in cases:
        want = {case["lang"], *case.get("also", ())}
        for prior, prior_lang in (("right", case["lang"]), ("wrong", wrong_prior(case, langid.languages))):
            found = langid.detect(case["say"], prior_lang, names)
            report.rows.append({
                "lang": case["lang"], "cat": case["cat"], "say": case["say"], "prior": prior,
                "prior_lang": prior_lang, "bucket": f"{case['cat']}/{prior}", "lang_prior": f"{case['lang']}/{prior}",
                "got": found.lang, "reason": found.reason, "ok": found.lang in want and found.translatable,
            })
    return report
