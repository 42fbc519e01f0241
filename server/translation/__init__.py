"""Translation in the world: each line's language, and every reader's copy in their own language."""
