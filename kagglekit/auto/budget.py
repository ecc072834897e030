"""The time budget of ``kagglekit auto``: what is spent (earlier attempts included) and left."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def duration(seconds: float | None) -> str:
    """90 -> '1m30s', 7200 -> '2h00m'."""
    if seconds is None:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


@dataclass
class Budget:
    """``total`` seconds for the whole command; ``spent_before``: what earlier attempts of
    the same session spent (a resumed ``auto`` goes on with what is left)."""

    total: float
    spent_before: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def spent(self) -> float:
        return self.spent_before + (time.monotonic() - self.started)

    def left(self) -> float:
        return self.total - self.spent()

    def label(self) -> str:
        left = self.left()
        return f"{duration(left)} left" if left > 0 else f"{duration(-left)} over"
