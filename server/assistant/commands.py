"""CLI side of the assistant: `townsquare assistant eval`."""

from __future__ import annotations


def eval_args(parser) -> None:
    parser.add_argument("--embedder", action="store_true", help="also load the bundled sentence embedder (models.embed)")
    parser.add_argument("--model", action="store_true", help="plan with the generation model (models.npc)")
    parser.add_argument("--cases", default="", help="another cases file (YAML)")


def assistant_eval(settings, args) -> int:
    """Read the eval's commands (five languages) with the assistant; print a pass rate per language."""
    import asyncio
    from pathlib import Path

    from ai.assistant.evals.runner import CASES, eval_vocabulary, load_cases
    from server.inference.specs import specs_from_settings
    from server.world.seed import load_world_file
    from server.world.tiled import parse_map

    world = load_world_file(settings.world_file)
    places = {r["slug"]: list(dict.fromkeys(p.name for p in (*m.areas, *m.objects)))
              for r in world.get("rooms", []) if r.get("map_doc") and (m := parse_map(r["map_doc"]))}
    vocab = eval_vocabulary(world, places)
    wanted = {"embed"} if args.embedder else set()
    if args.model:
        wanted.add("npc")
    specs = [s for s in specs_from_settings(settings) if s.name in wanted]
    if args.model and not any(s.name == "npc" for s in specs):
        print("no generation model: set models.npc (or models.npc_base_url)")
        return 2
    cases = load_cases(Path(args.cases) if args.cases else CASES)
    return asyncio.run(_eval(cases, vocab, specs))


async def _eval(cases, vocab, specs) -> int:
    from ai.assistant import Planner
    from ai.assistant.evals.runner import run
    from ai.inference import InferenceService

    inference = InferenceService(specs) if specs else None
    if inference is not None:
        await inference.start()
    try:
        report = await run(cases, vocab, Planner(inference))
    finally:
        if inference is not None:
            await inference.stop()
    print(report.format())
    return 0
