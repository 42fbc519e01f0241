"""Every domain's models, so `Base.metadata` is complete (Alembic, tests)."""

from __future__ import annotations

from types import ModuleType


def load_all_models() -> list[ModuleType]:
    """The shared tables (the audit log) and the models module each domain declares (importing
    it puts its tables in `Base.metadata`)."""
    from server import audit
    from server.domains import DOMAINS

    return [audit, *(d.models for d in DOMAINS if d.models is not None)]
