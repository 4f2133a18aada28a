"""Types shared by task plugins, the run loop and the scorers.

A `Request` is one prompt to generate for (a report; a global VQA question; a local VQA chain);
a `Prediction` is its parsed answer as the scorer reads it. Both are plain, JSON-serialisable data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Request:
    key: str
    """Unique within a run: ``"{case_id}/{scope}/{question_id}"``; the resume key."""
    case_id: str
    scope: str
    """``report``, ``global`` or ``local``."""
    question_id: int | None
    question: str
    prompt: str
    """The full prompt text, rendered for the model's prompt style (image placeholders included)."""
    image: Path | None = None
    domain: str = "abdomen"
    target: str | None = None
    decoding: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prediction:
    key: str
    case_id: str
    scope: str
    question_id: int | None
    question: str
    prediction: str
    """Parsed answer, as the scorer reads it (report text; "a, b"; "a|b|c")."""
    raw: str = ""
    """The model's text before parsing."""
    reference: str | None = None
    """The request's target (reference report or answers), kept for browsing predictions; scorers ignore it."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Prediction:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
