"""Moderation: a verdict for every public text, strikes and sanctions, reports, review and appeals."""
