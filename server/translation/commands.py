"""CLI side of translation: the `townsquare doctor` section (the CLI imports every domain's commands)."""

from __future__ import annotations

from server.doctor import DOCTOR_SECTIONS
from server.translation.doctor import doctor_section

DOCTOR_SECTIONS["translation"] = doctor_section
