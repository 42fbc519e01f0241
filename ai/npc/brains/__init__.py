"""One module per brain: `retrieval` (no model) and `llm` (an instruct model, the retrieval brain behind it)."""

from .llm import LLMBrain, parse_insights
from .retrieval import RetrievalBrain, geography

__all__ = ["LLMBrain", "RetrievalBrain", "geography", "parse_insights"]
