"""User-side learning from `clicks` (and purchases): the CTR and preference models.

An impression waits (in the user's state) for a click on the same SKU for `click_window` seconds
of event time; a click resolves it as a positive, expiry as a negative (a sampled share of the
negatives is learned, weighted: `models/ctr.py`). Both are scored before they are learned
(progressive validation). Views, clicks and add-to-carts (and purchases, from
orders) train the preference model with grades view < click < add-to-cart < purchase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from realtime_mkt.decisions import Audience
from realtime_mkt.events import InputEvent
from realtime_mkt.models.ctr import CtrModel, ctr_features, impression
from realtime_mkt.models.preference import GRADES, PreferenceModel
from realtime_mkt.positions import ReadPositions
from realtime_mkt.sku_state import RecentIds

MAX_PENDING = 50


@dataclass(slots=True)
class UserState:
    """Recent event ids, the positions of the clicks read, and impressions still waiting for
    a click."""

    recent: RecentIds = field(default_factory=RecentIds)
    pending: list[dict[str, Any]] = field(default_factory=list)
    positions: ReadPositions = field(default_factory=ReadPositions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the table."""
        return {"ids": self.recent.ids, "pend": self.pending, "pos": self.positions.to_list()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserState:
        """Inverse of `to_dict`."""
        return cls(
            RecentIds.from_stored(data["ids"]),
            data["pend"],
            ReadPositions.from_list(data.get("pos")),
        )


@dataclass(slots=True)
class UserOutcome:
    """What applying one click event did."""

    state: UserState
    duplicate: bool = False


class UserEngine:
    """Applies `clicks` events to user state and to the shared CTR and preference models."""

    def __init__(
        self, ctr: CtrModel, preference: PreferenceModel, click_window: float = 1800.0
    ) -> None:
        self.ctr = ctr
        self.preference = preference
        self.click_window = click_window

    def apply(self, state: UserState | None, event: InputEvent) -> UserOutcome:
        """Apply a validated `clicks` event keyed by `user_id`."""
        state = state or UserState()
        value = event.value
        if state.positions.seen_before(event.read, None) or state.recent.seen_before(
            value["event_id"]
        ):
            return UserOutcome(state, duplicate=True)
        assert event.ts is not None
        self._expire(state, event.ts)
        action = value["action"]
        if action == "impression":
            seen = impression(value, event.ts)
            seen["taste"] = self.taste(value["user_id"], value["sku_id"])
            state.pending.append(seen)
            if len(state.pending) > MAX_PENDING:
                self._learn_unclicked(state.pending.pop(0))
            return UserOutcome(state)
        if action == "click":
            for index in range(len(state.pending) - 1, -1, -1):
                if state.pending[index]["sku_id"] == value["sku_id"]:
                    self.ctr.learn_clicked(state.pending.pop(index))
                    break
        self.preference.learn_one(
            {"user": value["user_id"], "item": value["sku_id"]}, GRADES[action]
        )
        return UserOutcome(state)

    def taste(self, user_id: str, sku_id: str) -> float:
        """The preference model's grade for the user and SKU, as CTR reads it: the one feature
        that is about this user and this SKU together, which CTR's one-hot features cannot be."""
        return round(self.preference.grade(user_id, sku_id), 3)

    def learn_purchase(self, user_id: str, sku_id: str) -> None:
        """A purchase: the strongest implicit signal."""
        self.preference.learn_one({"user": user_id, "item": sku_id}, GRADES["purchase"])

    def _expire(self, state: UserState, now: float) -> None:
        while state.pending and state.pending[0]["ts"] < now - self.click_window:
            self._learn_unclicked(state.pending.pop(0))

    def _learn_unclicked(self, impression: dict[str, Any]) -> None:
        """An impression nobody clicked: CTR's negative and, for the same sample, preference's
        grade 0. Without them preference sees only engagement and ranks users by how often they
        buy rather than by what they choose when shown the SKU."""
        if self.ctr.learn_unclicked(impression):
            self.preference.learn_one(
                {"user": impression["user_id"], "item": impression["sku_id"]}, GRADES["impression"]
            )

    def audience(self, sku_id: str, size: int) -> Audience:
        """Users most likely to want `sku_id`, with their mean predicted CTR on an ad placement."""
        return self.scored_audience(sku_id, self.preference.audience(sku_id, size))

    def scored_audience(self, sku_id: str, users: list[str]) -> Audience:
        """`users` as the audience of a promotion of `sku_id`, with their mean predicted CTR on an
        ad placement and, to compare it with, the CTR predicted there for a user the model does
        not know with the SKU's mean grade as taste (both None while CTR has seen no click).

        The ad's slot and hour are not known in advance, so both predictions share the same
        neutral ones and the ratio between them is what the bid reads."""
        if not users or not self.ctr.health().get("positives"):
            return Audience(users, None, None)
        ad = {"sku_id": sku_id, "placement": "ad", "ts": 0}
        predictions = [
            self.ctr.predict_one(ctr_features(ad | {"user_id": u, "taste": self.taste(u, sku_id)}))
            for u in users
        ]
        anyone = ad | {"user_id": "", "taste": round(self.preference.popularity(sku_id), 3)}
        return Audience(
            users, sum(predictions) / len(predictions), self.ctr.predict_one(ctr_features(anyone))
        )
