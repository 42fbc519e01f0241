"""Residents (NPCs): persona, memory stream, brains, actions, scheduler and the world interface.

Generative-Agents style: a memory stream with retrieval (recency, importance, relevance) and
reflection, a brain that plans the next line and act, and a routine that moves the resident
between rooms on the world clock. `ai.npc` never imports `server`: the world is reached only
through `interface.World`, the storage through `memory.MemoryStore` and `agent.PeopleStore`.
See docs/npc.md.
"""

from .actions import EMOTES, Action, Rejected, Reply, match_room, match_sku, parse_reply, validate
from .agent import AgentConfig, Conversation, Heard, PeopleStore, ResidentAgent
from .brain import Acquaintance, Brain, ReplyContext, heuristic_reflections
from .brains import LLMBrain, RetrievalBrain, parse_insights
from .interface import (
                     ActionRefused,
                     Happening,
                     Item,
                     Offer,
                     Person,
                     PlaceFact,
                     RoomFact,
                     Sale,
                     Stall,
                     Surroundings,
                     World,
)
from .memory import (
                     KINDS,
                     Memory,
                     MemoryDraft,
                     MemoryStore,
                     MemoryStream,
                     StreamConfig,
                     Weights,
                     heuristic_importance,
                     score_memories,
)
from .persona import Persona, PersonaError, RoutineSlot
from .scheduler import Budgets, TokenBucket, WorldClock

__all__ = [
    "EMOTES", "KINDS", "Acquaintance", "Action", "ActionRefused", "AgentConfig", "Brain", "Budgets", "Conversation",
    "Heard", "Item", "LLMBrain", "Memory", "MemoryDraft", "MemoryStore", "MemoryStream", "Offer", "PeopleStore",
    "Person", "Persona", "PersonaError", "Rejected", "Reply", "ReplyContext", "ResidentAgent", "RetrievalBrain",
    "PlaceFact", "RoomFact", "RoutineSlot", "Happening", "Sale", "Stall", "StreamConfig", "Surroundings", "TokenBucket", "Weights", "World",
    "WorldClock", "heuristic_importance", "heuristic_reflections", "match_room", "match_sku", "parse_insights",
    "parse_reply", "score_memories", "validate",
]
