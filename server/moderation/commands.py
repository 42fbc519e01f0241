"""`townsquare moderate`: lines on stdin, one JSON verdict per line on stdout (the world's rules
from the world file, or a rules file; no database needed)."""

from __future__ import annotations

import sys

KINDS = ("chat", "whisper", "name", "room", "npc")


def configure(parser) -> None:
    parser.add_argument("--rules", help="a rules file (YAML or JSON); default: the world file's moderation section")
    parser.add_argument("--kind", default="chat", choices=KINDS, help="what the lines are (default chat)")


def run(settings, args) -> int:
    """Moderate lines from stdin: one JSON verdict per line (action, categories, scores, masked text)."""
    from ai.moderation import ModerationRules
    from ai.moderation.cli import run as moderate
    from server.world.seed import load_world_file

    if args.rules:
        try:
            rules = ModerationRules.from_file(args.rules)
        except (OSError, ValueError, TypeError) as e:
            print(f"townsquare moderate: cannot read rules {args.rules}: {e}", file=sys.stderr)
            return 2
    else:
        rules = (load_world_file(settings.world_file) or {}).get("moderation") or None
    return moderate(sys.stdin, sys.stdout, rules, kind=args.kind)
