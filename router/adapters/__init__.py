"""Adapters: Redis, Rasa, outside HTTP APIs."""
