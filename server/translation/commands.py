"""CLI side of translation: `townsquare translation langid-eval`."""

from __future__ import annotations


def langid_eval_args(parser) -> None:
    parser.add_argument("--accuracy", choices=("high", "low"), default=None,
                        help="lingua's accuracy mode (default: the setting translation_langid_accuracy)")
    parser.add_argument("--cases", default="", help="another cases file (YAML)")


def langid_eval(settings, args) -> int:
    """Read the language-id eval's chat lines with the sender's language right and wrong; print pass rates."""
    from pathlib import Path

    from ai.translation import LanguageIdentifier
    from ai.translation.evals.runner import CASES, load_cases, run

    try:
        cases = load_cases(Path(args.cases) if args.cases else CASES)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"cannot read the cases: {e}")
        return 2
    langid = LanguageIdentifier(settings.languages, settings.default_language,
                                accuracy=args.accuracy or settings.translation_langid_accuracy)
    if langid.status[0] != "found":
        print(f"language id is off: {langid.status[1]}")
        return 2
    unknown = sorted({c["lang"] for c in cases} - set(langid.languages))
    if unknown:
        print(f"the cases are in languages this world does not speak: {', '.join(unknown)}")
        return 2
    print(run(cases, langid).format())
    return 0
