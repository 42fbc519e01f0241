"""CLI side of residents: the `townsquare doctor` section and `townsquare residents list`
(the CLI imports every domain's commands module)."""

from __future__ import annotations

from server.cli import command
from server.doctor import DOCTOR_SECTIONS
from server.residents.doctor import doctor_section

DOCTOR_SECTIONS["residents"] = doctor_section


def _no_args(parser) -> None:
    pass


@command("residents list", _no_args)
def residents_list(settings, args) -> int:
    """Each resident and the brain it has (the same lines as the doctor's residents section)."""
    for name, (state, why) in doctor_section(settings).items():
        print(f"{name:<28} {state:<10} {why}")
    return 0
