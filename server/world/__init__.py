"""The world: rooms, avatars, residents' places, the default world data."""
