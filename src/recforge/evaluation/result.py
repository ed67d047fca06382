"""`EvaluationResult`: a flat mapping of metric values plus how they were obtained."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EvaluationResult"]

PROTOCOL_TEXT = {
    "full": "full ranking over every item the user has not interacted with in train/valid",
    "recommendations": "ranked lists read from a recommendations file",
    "sessions-every": "next-item prediction: every click with a click before it in its "
    "session ranked after those, over every item but them",
    "sessions-last": "next-item prediction: the last click of each session ranked after the "
    "clicks before it, over every item but those",
}


@dataclass(frozen=True)
class EvaluationResult(Mapping[str, float]):
    """Metric values such as {"ndcg@10": 0.41, "recall@20": 0.2, "rmse": 0.94}.

    protocol: "full", "sampled-<N>" (each user's test items ranked among N sampled negatives),
        "recommendations" (lists from a file) or "sessions-every" / "sessions-last" (next-item
        prediction in sessions, `recforge.evaluation.evaluate_sessions`).
    n_users: users scored; n_users_skipped: test users that could not be scored (see notes).
    notes: one-line remarks (leakage counts, metrics that could not be computed and why).
    unit: what n_users and n_users_skipped count: "users", or "sessions".
    """

    scores: dict[str, float]
    protocol: str
    n_users: int
    n_users_skipped: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    unit: str = "users"

    def __getitem__(self, key: str) -> float:
        return self.scores[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scores)

    def __len__(self) -> int:
        return len(self.scores)

    def describe_protocol(self) -> str:
        if self.protocol.startswith("sampled-"):
            n = self.protocol.removeprefix("sampled-")
            return (
                f"SAMPLED: each user's test items ranked among {n} sampled negatives "
                "(comparable with papers that use this protocol, not with full ranking)"
            )
        return PROTOCOL_TEXT.get(self.protocol, self.protocol)

    def as_dict(self) -> dict[str, Any]:
        """One flat JSON-ready object: metric values, protocol, user counts and notes."""
        return {
            **self.scores,
            "protocol": self.protocol,
            "users": self.n_users,
            "users_skipped": self.n_users_skipped,
            "unit": self.unit,
            "notes": list(self.notes),
        }

    def to_table(self) -> str:
        """Plain-text table, one metric per line, under a header naming the protocol."""
        lines = [
            f"protocol: {self.describe_protocol()}",
            f"{self.unit + ':':<10}{self.n_users:,} scored"
            + (f", {self.n_users_skipped:,} skipped" if self.n_users_skipped else ""),
        ]
        width = max((len(k) for k in self.scores), default=6)
        lines.append("")
        lines.append(f"{'metric':<{width}}  value")
        lines.append(f"{'-' * width}  ------")
        for key, value in self.scores.items():
            lines.append(f"{key:<{width}}  {value:.4f}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()
