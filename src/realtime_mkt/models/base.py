"""What every online model here provides, and progressive-validation bookkeeping."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

CURVE_BINS = 12  # half-decades of p from 1 down to 1e-6


class OnlineModel(Protocol):
    """Learns from one observation at a time; predicts; reports its own health."""

    name: str

    def learn_one(self, x: dict[str, Any], y: float) -> None:
        """Update with one labelled observation (after it has been scored: progressive validation)."""

    def predict_one(self, x: dict[str, Any]) -> float:
        """The model's prediction for one observation."""

    def health(self) -> dict[str, float]:
        """Progressive metrics of the model (computed on predictions made before learning)."""


@dataclass(slots=True)
class BinaryScore:
    """Progressive log loss, normalised entropy and calibration of a probability forecaster."""

    n: float = 0  # weighted count of the observations scored
    positives: float = 0.0
    predicted: float = 0.0
    log_loss_sum: float = 0.0
    # calibration curve: [weight, weighted sums of predictions and labels] per bin of log10(p)
    bins: list[list[float]] = field(
        default_factory=lambda: [[0, 0.0, 0.0] for _ in range(CURVE_BINS)]
    )

    def update(self, p: float, y: float, w: float = 1.0) -> None:
        """Score a prediction `p` made before seeing label `y`; the observation stands for `w`
        (1 / its sampling rate)."""
        p = min(max(p, 1e-7), 1 - 1e-7)
        row = self.bins[min(int(-math.log10(p) * 2), CURVE_BINS - 1)]
        row[0] += w
        row[1] += w * p
        row[2] += w * y
        self.n += w
        self.positives += w * y
        self.predicted += w * p
        self.log_loss_sum -= w * (y * math.log(p) + (1 - y) * math.log(1 - p))

    def curve(self) -> list[tuple[float, float, int]]:
        """(mean prediction, observed rate, count) per non-empty bin: the calibration curve."""
        return [(p / n, y / n, int(n)) for n, p, y in self.bins if n]

    def metrics(self) -> dict[str, float]:
        """log loss, normalised entropy (log loss / entropy of the base rate), predicted/observed;
        the last two only once both outcomes were seen (undefined before: no infinities in
        `/health`'s JSON or the gauges)."""
        if self.n == 0:
            return {"n": 0}
        log_loss = self.log_loss_sum / self.n
        scores = {
            "n": round(self.n),
            "log_loss": log_loss,
            "base_rate": self.positives / self.n,
            "positives": self.positives,
        }
        if 0 < self.positives < self.n:
            base = self.positives / self.n
            entropy = -(base * math.log(base) + (1 - base) * math.log(1 - base))
            scores["normalised_entropy"] = log_loss / entropy
            scores["calibration"] = self.predicted / self.positives
        return scores


@dataclass(slots=True)
class RegressionScore:
    """Progressive MAE and RMSE."""

    n: int = 0
    abs_sum: float = 0.0
    sq_sum: float = 0.0

    def update(self, prediction: float, y: float) -> None:
        """Score a prediction made before seeing `y`."""
        self.n += 1
        self.abs_sum += abs(prediction - y)
        self.sq_sum += (prediction - y) ** 2

    def metrics(self) -> dict[str, float]:
        """MAE and RMSE so far."""
        if self.n == 0:
            return {"n": 0}
        return {"n": self.n, "mae": self.abs_sum / self.n, "rmse": math.sqrt(self.sq_sum / self.n)}
