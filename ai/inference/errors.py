"""Errors a caller of the inference queue can get back."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception as one log-friendly line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class InferenceError(Exception):
    """Base class: the request failed; the message says why in one line."""


class Overloaded(InferenceError):
    """The queue is full: this request was refused or shed in favour of a higher priority."""


class DeadlineExceeded(InferenceError):
    """The request's deadline passed before a result was ready; it was dropped, not computed."""


class ModelUnavailable(InferenceError):
    """The model is not configured, not downloaded or failed to load (the message says which)."""
