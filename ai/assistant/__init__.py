"""The world assistant's model side: the declared tools, the intent parser (five languages, no
model), the planner (a model's tool calls when one is loaded) and the replies. Never imports server."""

from .intents import Intent, IntentParser, Vocabulary
from .planner import Planner
from .tools import TOOLS, BadCall, Tool, validate

__all__ = ["TOOLS", "BadCall", "Intent", "IntentParser", "Planner", "Tool", "Vocabulary", "validate"]
