"""`townsquare moderate`: moderate lines from stdin, one JSON verdict per line on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from .moderator import KINDS, Moderator
from .rules import ModerationRules

__all__ = ["run", "main"]


def run(
    stdin: TextIO,
    stdout: TextIO,
    rules: ModerationRules | dict[str, Any] | None = None,
    *,
    kind: str = "chat",
    moderator: Moderator | None = None,
) -> int:
    """Read lines from `stdin`, write `{"text", "action", "categories", "reasons",
    "masked_text", "stage", "spans"}` per non-empty line to `stdout`. Returns an exit code
    (0; 2 for bad rules)."""
    if moderator is None:
        try:
            if isinstance(rules, dict):
                rules = ModerationRules.from_dict(rules)
        except (ValueError, TypeError) as exc:
            print(f"moderate: bad rules: {exc}", file=sys.stderr)
            return 2
        moderator = Moderator(rules)
    for raw in stdin:
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        verdict = moderator.check_sync(text, kind=kind)
        stdout.write(json.dumps({"text": text, **verdict.to_dict()}, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ai.moderation.cli", description=__doc__)
    parser.add_argument("--rules", help="world rules file (YAML or JSON)")
    parser.add_argument("--kind", default="chat", choices=KINDS, help="what the lines are")
    args = parser.parse_args(argv)
    rules = None
    if args.rules:
        try:
            rules = ModerationRules.from_file(args.rules)
        except (OSError, ValueError) as exc:
            print(f"moderate: cannot read rules {args.rules}: {exc}", file=sys.stderr)
            return 2
    return run(sys.stdin, sys.stdout, rules, kind=args.kind)


if __name__ == "__main__":
    raise SystemExit(main())
