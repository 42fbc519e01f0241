"""Imports every domain's models so `Base.metadata` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib
import pkgutil

import server


def load_all_models() -> None:
    """Import `server.<domain>.models` for every domain package that has one."""
    for mod in pkgutil.iter_modules(server.__path__):
        if mod.ispkg:
            try:
                importlib.import_module(f"server.{mod.name}.models")
            except ModuleNotFoundError as e:
                if e.name != f"server.{mod.name}.models":
                    raise
