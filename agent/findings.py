"""What a check found in a draft: stored with the draft, shown in the desk, counted in evals."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Finding:
    """An ``error`` needs a reviewer's logged confirmation before approval; a ``warning``
    is shown and highlighted, never a blocker."""

    code: str
    message: str
    excerpt: str = ""
    severity: Literal["error", "warning"] = "error"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
