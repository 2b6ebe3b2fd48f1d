"""User-item preference from implicit feedback: river BiasedMF on graded interactions.

Implicit signals become ratings: an impression nobody clicked 0 (the sampled share CTR learns
from) < view 1 < click 2 < add-to-cart 3 < purchase 4. Progressive MAE
and RMSE are tracked on those grades, next to a popularity baseline's (each item's mean grade so
far, else the overall mean). Top-K ranks the catalogue's recently active items for a
user, leaving out what the user bought recently.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

import numpy as np
from river import optim, reco

from realtime_mkt.models.base import RegressionScore

GRADES = {"impression": 0.0, "view": 1.0, "click": 2.0, "add_to_cart": 3.0, "purchase": 4.0}
MAX_CANDIDATES = 2_000  # items considered for top-K (most recently active)
MAX_REMEMBERED_BUYERS = 100_000  # users whose recent purchases are excluded from top-K


class PreferenceModel:
    """Matrix factorisation with biases over implicit-feedback grades."""

    name = "preference"

    def __init__(
        self,
        n_factors: int = 10,
        seed: int = 73,
        grades: tuple[float, float] = (0.0, 4.0),
        learning_rates: tuple[float, float] = (0.01, 0.02),
        l2_latent: float = 0.01,
    ) -> None:
        """`learning_rates` are the biases' and the factors'. The defaults suit implicit feedback,
        where most grades are noise (docs/reports.md, *Promotion targeting*); river's MovieLens
        benchmark runs with (0.025, 0.05) and no L2."""
        bias_rate, latent_rate = learning_rates
        self.model = reco.BiasedMF(
            n_factors=n_factors,
            bias_optimizer=optim.SGD(bias_rate),
            latent_optimizer=optim.SGD(latent_rate),
            latent_initializer=optim.initializers.Normal(mu=0.0, sigma=0.1, seed=seed),
            l2_bias=0.0,
            l2_latent=l2_latent,
        )
        self.score = RegressionScore()
        self.popularity_score = RegressionScore()
        self.item_grades: dict[str, list[float]] = {}  # item -> [sum of grades, count]
        self.total = [0.0, 0]
        self.grades = grades  # predictions are clipped to this range (river's PredClipper)
        self.items: OrderedDict[str, None] = OrderedDict()
        self.users: OrderedDict[str, None] = OrderedDict()
        self.bought: OrderedDict[str, deque[str]] = OrderedDict()

    def predict_one(self, x: dict[str, Any]) -> float:
        """Predicted grade of `x['item']` for `x['user']`."""
        return self.model.predict_one(x["user"], x["item"])

    def grade(self, user: str, item: str) -> float:
        """`predict_one`'s grade without its side effect: river adds an unseen user or item to the
        model, with random factors, when asked about it; this reads a stranger as the mean."""
        model = self.model
        grade = model.global_mean.get() + model.u_biases.get(user, 0.0)
        grade += model.i_biases.get(item, 0.0)
        factors = model.u_latents.get(user), model.i_latents.get(item)
        if factors[0] is not None and factors[1] is not None:
            grade += float(np.dot(*factors))
        return float(grade)

    def learn_one(self, x: dict[str, Any], y: float) -> None:
        """Score, then learn, one interaction with grade `y`."""
        user, item = x["user"], x["item"]
        low, high = self.grades
        self.score.update(min(max(self.predict_one(x), low), high), y)
        self.popularity_score.update(self.popularity(item), y)
        stats = self.item_grades.setdefault(item, [0.0, 0])
        stats[0] += y
        stats[1] += 1
        self.total[0] += y
        self.total[1] += 1
        self.model.learn_one(user, item, y)
        _touch(self.items, item, MAX_CANDIDATES)
        _touch(self.users, user, MAX_CANDIDATES * 5)
        if y >= GRADES["purchase"]:
            recent = self.bought.setdefault(user, deque(maxlen=20))
            recent.append(item)
            self.bought.move_to_end(user)
            while len(self.bought) > MAX_REMEMBERED_BUYERS:
                self.bought.popitem(last=False)

    def top_k(self, user: str, k: int = 10) -> list[str]:
        """The user's k most preferred recently active items, excluding recent purchases."""
        exclude = set(self.bought.get(user, ()))
        candidates = [item for item in self.items if item not in exclude]
        return self.model.rank(user, candidates)[:k]

    def audience(self, item: str, k: int = 100) -> list[str]:
        """The k recently active users with the highest predicted grade for `item` (ties by
        user id).

        Scored as one matrix product over the users' factors rather than `predict_one` per
        user: 10,000 users cost a few milliseconds of the event loop instead of 25–30 ms.
        """
        users = list(self.users)
        if not users:
            return []
        model = self.model
        grades = (
            model.global_mean.get()
            + np.array(list(map(model.u_biases.__getitem__, users)))
            + model.i_biases[item]
            + np.array(list(map(model.u_latents.__getitem__, users))) @ model.i_latents[item]
        )
        if len(users) > k:  # every user tied with the k-th best stays in, for the tie-break
            chosen = np.flatnonzero(grades >= np.partition(grades, len(users) - k)[len(users) - k])
        else:
            chosen = range(len(users))
        return [users[i] for i in sorted(chosen, key=lambda i: (-grades[i], users[i]))[:k]]

    def popularity(self, item: str) -> float:
        """The baseline's prediction: the item's mean grade so far, else the overall mean."""
        total, count = self.item_grades.get(item, self.total)
        if not count:
            total, count = self.total
        return total / count if count else 0.0

    def health(self) -> dict[str, float]:
        """Progressive MAE and RMSE on interaction grades, and the popularity baseline's."""
        baseline = self.popularity_score.metrics()
        return {
            **self.score.metrics(),
            **{f"{k}_popularity": v for k, v in baseline.items() if k != "n"},
        }


def _touch(recent: OrderedDict[str, None], key: str, limit: int) -> None:
    recent[key] = None
    recent.move_to_end(key)
    while len(recent) > limit:
        recent.popitem(last=False)
