"""What an event or a quest is made of, checked the same way from the world file, the admin's
REST calls and the generator."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from server.events.clock import parse_hhmm
from server.events.models import EVENT_KINDS

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=48)]


class Step(BaseModel):
    """One thing to do: visit a room, talk to a resident, buy an item, find an object in a room."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["visit", "talk", "buy", "find"]
    room: Slug | None = None  # visit, find
    resident: Key | None = None  # talk (a resident's key)
    sku: Key | None = None  # buy
    thing: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None  # find
    label: Text = ""

    @model_validator(mode="after")
    def _needs(self) -> Step:
        need = {"visit": ("room",), "talk": ("resident",), "buy": ("sku",), "find": ("room", "thing")}[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} step needs {', '.join(missing)}")
        return self

    def describe(self) -> str:
        if self.label:
            return self.label
        return {"visit": f"Visit {self.room}", "talk": f"Talk to {self.resident}", "buy": f"Buy a {self.sku}",
                "find": f"Find the {self.thing} in {self.room}"}[self.kind]


class QuestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    title: Title
    description: Text = ""
    steps: list[Step] = Field(min_length=1, max_length=10)
    reward: int = Field(0, ge=0, le=1_000_000)
    status: Literal["active", "paused"] = "active"


class EventSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    kind: Literal[EVENT_KINDS]  # type: ignore[valid-type]
    title: Title
    description: Text = ""
    room: Slug
    host: Key | None = None
    announcement: Text = ""
    at: str | int  # world time "HH:MM"
    duration_min: int = Field(60, gt=0, le=1440)
    discount_pct: int = Field(0, ge=0, le=90)
    quest: Key | None = None
    status: Literal["scheduled", "paused"] = "scheduled"

    @field_validator("at")
    @classmethod
    def _at(cls, v: str | int) -> str | int:
        parse_hhmm(v)
        return v

    @property
    def start_min(self) -> int:
        return parse_hhmm(self.at)

    def row_values(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "title": self.title, "description": self.description,
                "room": self.room, "host": self.host, "announcement": self.announcement or self.title,
                "start_min": self.start_min, "duration_min": self.duration_min, "discount_pct": self.discount_pct,
                "quest_key": self.quest, "status": self.status}
