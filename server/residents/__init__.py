"""Residents: NPCs who live in the rooms, remember people, talk, trade and act (see docs/npc.md)."""
