"""CLI side of residents: `townsquare residents list` and `townsquare residents eval`."""

from __future__ import annotations

from server.residents.doctor import doctor_section


def residents_list(settings, args) -> int:
    """Each resident and the brain it has (the same lines as the doctor's residents section)."""
    for name, (state, why) in doctor_section(settings).items():
        print(f"{name:<28} {state:<10} {why}")
    return 0


def eval_args(parser) -> None:
    parser.add_argument("--brain", choices=("retrieval", "llm"), default="retrieval",
                        help="retrieval: no model; llm: the npc model (models.npc) or --base-url")
    parser.add_argument("--base-url", default="", help="an OpenAI-compatible server for the llm brain")
    parser.add_argument("--model", default="", help="the model name to ask that server for")
    parser.add_argument("--out", default="", help="write every checked turn here (JSONL)")
    parser.add_argument("--subset", choices=("all", "fast"), default="all", help="fast: two cases per category")
    parser.add_argument("--cases", default="", help="another cases file (YAML)")
    parser.add_argument("--only", default="", help="only cases whose id or category contains this")


def residents_eval(settings, args) -> int:
    """Play the scripted resident conversations against a brain; print a pass rate per category."""
    import asyncio
    from dataclasses import replace
    from pathlib import Path

    from ai.npc.evals.runner import CASES, fast_subset, load_cases
    from server.inference.specs import specs_from_settings
    from server.world.seed import load_world_file

    cases = load_cases(Path(args.cases) if args.cases else CASES)
    if args.subset == "fast":
        cases = fast_subset(cases)
    if args.only:
        cases = [c for c in cases if args.only in c["id"] or args.only == c["category"]]
    specs = [s for s in specs_from_settings(settings) if s.name == "embed" or (s.name == "npc" and args.brain == "llm")]
    if args.brain == "llm" and args.base_url:
        from ai.inference import ModelSpec

        specs = [s for s in specs if s.name != "npc"] + [ModelSpec(
            name="npc", task="generate", model_id=args.model or settings.models.npc or "default", backend="openai",
            base_url=args.base_url, api_key=settings.models.npc_api_key or None)]
    if args.brain == "llm" and not any(s.name == "npc" for s in specs):
        print("no npc model: set models.npc, models.npc_base_url or pass --base-url")
        return 2
    world = load_world_file(settings.world_file)
    return asyncio.run(_eval(cases, world, [replace(s) for s in specs], args))


async def _eval(cases, world, specs, args) -> int:
    from pathlib import Path

    from ai.inference import InferenceService
    from ai.npc import LLMBrain, RetrievalBrain
    from ai.npc.evals.runner import run

    inference = InferenceService(specs)
    await inference.start()
    try:
        async def embed(texts, priority, deadline):
            return await inference.embed("embed", texts, priority=priority, deadline=deadline)

        brain = LLMBrain(inference, "npc", fallback=RetrievalBrain()) if args.brain == "llm" else None
        report = await run(cases, world, brain=brain, embed=embed if inference.available("embed") else None,
                           out=Path(args.out) if args.out else None)
    finally:
        await inference.stop()
    print(report.format())
    if args.out:
        print(f"every turn: {args.out}")
    return 0
