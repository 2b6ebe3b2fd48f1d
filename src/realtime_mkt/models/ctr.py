"""Click-through rate: river logistic regression with FTRL-Proximal on hashed context features.

Features (McMahan et al. 2013 style, all categorical one-hot except a few numbers): user, item,
placement, position, price bucket, hour of day, device, and item×placement / position×placement
crosses; and `taste`, the preference model's grade for the user and item when the impression was
shown (`UserEngine.taste`), the user×item interaction one-hot features leave out. Scored before
learning (progressive validation) with log loss, normalised entropy and calibration (predicted /
observed clicks, target 1.0).

Unclicked impressions are subsampled as in McMahan et al. 2013 §6.1: every click is learned, and a
fixed share `NEGATIVE_RATE` of the impressions without one, each weighted 1 / `NEGATIVE_RATE` in
the loss and in the progressive metrics, which stay unbiased. Three in four negatives cost
nothing; on the synthetic stream of the tests log loss rises 0.1–0.2 % and calibration stays
within 1 % (learning a tenth: 0.5 %, and in one backtest below river's plain regression).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from river import linear_model, optim

from realtime_mkt.models.base import BinaryScore
from realtime_mkt.sku_state import fixed_draw

PRIOR_LOGIT = math.log(0.02 / 0.98)  # start from a 2 % CTR, not 50 %: less warm-up damage
NEGATIVE_RATE = 0.25  # share of unclicked impressions learned, each weighted 1 / NEGATIVE_RATE


IMPRESSION_FIELDS = ("user_id", "sku_id", "placement", "position", "price_shown", "device")


def impression(value: dict[str, Any], ts: float) -> dict[str, Any]:
    """What `ctr_features` reads of a `clicks` event value, with its time `ts` (epoch
    seconds): an impression waits in its user's state in this form, half the event's bytes."""
    kept = {name: value[name] for name in IMPRESSION_FIELDS if name in value}
    kept["ts"] = ts
    return kept


def ctr_features(event: dict[str, Any]) -> dict[str, float]:
    """Model features of an impression (a `clicks` event value, with `ts` in epoch seconds)."""
    hour = datetime.fromtimestamp(event["ts"], UTC).hour
    placement = event["placement"]
    position = event.get("position", 0)
    x = {
        f"user={event['user_id']}": 1.0,
        f"item={event['sku_id']}": 1.0,
        f"placement={placement}": 1.0,
        f"pos={min(position, 20)}": 1.0,
        f"hour={hour}": 1.0,
        f"device={event.get('device', 'unknown')}": 1.0,
        f"item×placement={event['sku_id']}|{placement}": 1.0,
        f"pos×placement={min(position, 20)}|{placement}": 1.0,
    }
    if "taste" in event:
        x["taste"] = event["taste"]
    if "price_shown" in event:
        x[f"price_bucket={int(math.log2(max(event['price_shown'], 0.01)))}"] = 1.0
    return x


class CtrModel:
    """Online CTR model: FTRL-Proximal logistic regression with progressive metrics."""

    name = "ctr"

    def __init__(
        self, alpha: float = 0.1, beta: float = 1.0, l1: float = 0.0, l2: float = 1.0
    ) -> None:
        self.model = linear_model.LogisticRegression(
            optimizer=optim.FTRLProximal(alpha=alpha, beta=beta, l1=l1, l2=l2),
            intercept_init=PRIOR_LOGIT,
            intercept_lr=0.05,
        )
        self.score = BinaryScore()

    @classmethod
    def plain(cls) -> CtrModel:
        """river's default logistic regression (plain SGD) on the same features: the baseline."""
        model = cls()
        model.model = linear_model.LogisticRegression()
        return model

    def predict_one(self, x: dict[str, Any]) -> float:
        """Probability of a click for an impression's features."""
        return self.model.predict_proba_one(x).get(True, 0.0)

    def learn_one(self, x: dict[str, Any], y: float, w: float = 1.0) -> None:
        """Score, then learn, one impression with its outcome (1 clicked, 0 not), weighted `w`."""
        self.score.update(self.predict_one(x), y, w)
        self.model.learn_one(x, bool(y), w=w)

    def learn_clicked(self, impression: dict[str, Any]) -> None:
        """An impression (as `impression` keeps it) that was clicked."""
        self.learn_one(ctr_features(impression), 1.0)

    def learn_unclicked(self, impression: dict[str, Any]) -> bool:
        """An impression that expired without a click: learned, weighted, if it is among the
        sampled share (returns whether it was); the draw is fixed by its user, SKU and time, so a
        replay learns the same."""
        draw = f"{impression['user_id']}|{impression['sku_id']}|{impression['ts']!r}"
        sampled = fixed_draw(draw) < NEGATIVE_RATE
        if sampled:
            self.learn_one(ctr_features(impression), 0.0, 1 / NEGATIVE_RATE)
        return sampled

    def health(self) -> dict[str, float]:
        """Progressive log loss, normalised entropy, calibration."""
        return self.score.metrics()
