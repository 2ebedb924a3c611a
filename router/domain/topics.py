"""What a resident's message is about: the taxonomy topic and the department that answers for it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Topic"]


@dataclass(frozen=True)
class Topic:
    """l1/l2/l3 of data/taxonomy.csv (l2/l3 None when no sub-topic is evident), the responsible
    department, the classifier's calibrated probability for l1, and whether that is too low to
    dispatch without a human dispatcher looking at it first."""

    l1: str
    l2: str | None
    l3: str | None
    department: str
    confidence: float
    needs_human_dispatch: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "l1": self.l1,
            "l2": self.l2,
            "l3": self.l3,
            "department": self.department,
            "confidence": round(self.confidence, 4),
            "needs_human_dispatch": self.needs_human_dispatch,
        }
