"""Run every benchmark in bench/ one after another (`make bench`).

Each script prints one JSON object and then a one-line summary. This runs them in turn (never at
the same time: they would measure each other), writes each JSON to bench/results/NAME.json and
prints the summary lines. Arguments after `--` go to every script (`--quick` for a smoke run).

    .venv/bin/python bench/run_all.py [--only realtime ledger ...] [-- --quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Cheapest first, so a short run still says something.
BENCHES = ["frames", "moderation", "inference", "ledger", "translation", "realtime", "npc"]
QUICK_OK = {"frames", "realtime", "translation", "npc"}  # the scripts that take --quick


def last_json(stdout: str) -> dict | None:
    """The JSON object the script printed (everything before its summary line)."""
    lines = stdout.rstrip().splitlines()
    for cut in range(len(lines), 0, -1):
        try:
            return json.loads("\n".join(lines[:cut]))
        except json.JSONDecodeError:
            continue
    return None


def main() -> int:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=BENCHES, default=BENCHES)
    args = ap.parse_args(argv)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for name in args.only:
        flags = [f for f in extra if f != "--quick" or name in QUICK_OK]
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *flags], capture_output=True, text=True)
        took = time.monotonic() - started
        result = last_json(proc.stdout)
        summary = proc.stdout.rstrip().splitlines()[-1] if proc.stdout.strip() else ""
        if proc.returncode != 0 or result is None:
            failed.append(name)
            print(f"{name}: FAILED (exit {proc.returncode}, {took:.0f} s)\n{proc.stderr[-2000:]}", flush=True)
            continue
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
        print(f"{name} ({took:.0f} s): {summary}", flush=True)
    print(f"bench: {len(args.only) - len(failed)} of {len(args.only)} ran; JSON in {out_dir}"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
