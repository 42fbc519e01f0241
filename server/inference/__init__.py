"""The world's use of `ai.inference`: which models run, built from settings."""
