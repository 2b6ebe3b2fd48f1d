import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_mkt.events import decode, format_time
from realtime_mkt.models import ctr
from realtime_mkt.models.ctr import CtrModel
from realtime_mkt.models.preference import PreferenceModel
from realtime_mkt.user_engine import UserEngine, UserState
from tests.helpers import T0, encoded


def click(event_id: str, ts: float, action: str, sku: str = "s1", user: str = "u1"):
    value = {"event_id": event_id, "occurred_at": format_time(ts), "user_id": user, "sku_id": sku,
             "action": action, "placement": "ad", "position": 2}  # fmt: skip
    return decode("clicks", user.encode(), encoded(value))


def engine() -> UserEngine:
    return UserEngine(CtrModel(), PreferenceModel(), click_window=600)


def test_a_click_resolves_its_impression_as_a_positive():
    users = engine()
    state = users.apply(None, click("i1", T0, "impression")).state
    state = users.apply(state, click("c1", T0 + 30, "click")).state
    assert state.pending == []
    assert users.ctr.score.n == 1 and users.ctr.score.positives == 1
    assert users.preference.score.n == 1


def test_an_unclicked_impression_expires_as_a_negative(monkeypatch):
    monkeypatch.setattr(ctr, "NEGATIVE_RATE", 1.0)
    users = engine()
    state = users.apply(None, click("i1", T0, "impression", sku="s1")).state
    state = users.apply(state, click("i2", T0 + 60, "impression", sku="s2")).state
    state = users.apply(state, click("v1", T0 + 650, "view", sku="s3")).state
    assert [p["sku_id"] for p in state.pending] == ["s2"]  # s1 expired after 600 s of event time
    assert users.ctr.score.n == 1 and users.ctr.score.positives == 0
    # preference learned it as grade 0 (and the view as 1): shown, not chosen
    assert users.preference.score.n == 2 and users.preference.total == [1.0, 2]


def test_a_share_of_the_unclicked_impressions_is_learned_each_standing_for_the_rest():
    users = engine()
    state = None
    for n in range(300):
        state = users.apply(state, click(f"i{n}", T0 + n, "impression", sku=f"s{n}")).state
    state = users.apply(state, click("v1", T0 + 1000, "view", sku="s0")).state
    assert state.pending == []  # all 300 expired: each was drawn, a share of them learned
    learned = users.ctr.score.n * ctr.NEGATIVE_RATE
    assert users.ctr.score.positives == 0 and abs(learned - round(learned)) < 1e-9
    assert users.preference.score.n == round(learned) + 1  # the same sample, and the view
    assert 0.6 * 300 * ctr.NEGATIVE_RATE <= learned <= 1.4 * 300 * ctr.NEGATIVE_RATE


def test_an_impression_waits_with_the_users_taste_for_the_sku_which_ctr_reads():
    users = engine()
    for _ in range(20):  # u1 buys s1; u2 is shown it and walks on
        users.preference.learn_one({"user": "u1", "item": "s1"}, 4.0)
        users.preference.learn_one({"user": "u2", "item": "s1"}, 0.0)
    keen = users.apply(None, click("i1", T0, "impression", user="u1")).state.pending[0]
    cool = users.apply(None, click("i2", T0, "impression", user="u2")).state.pending[0]
    assert keen["taste"] == users.taste("u1", "s1") > cool["taste"] == users.taste("u2", "s1")
    assert ctr.ctr_features(keen)["taste"] == keen["taste"]


def test_duplicates_are_dropped_and_state_round_trips():
    users = engine()
    state = users.apply(None, click("i1", T0, "impression")).state
    outcome = users.apply(UserState.from_dict(state.to_dict()), click("i1", T0, "impression"))
    assert outcome.duplicate and len(outcome.state.pending) == 1


def test_audience_uses_preference_and_ctr():
    users = engine()
    state = None
    for n in range(40):
        state = users.apply(state, click(f"i{n}", T0 + n * 10, "impression", user="u1")).state
        state = users.apply(state, click(f"c{n}", T0 + n * 10 + 5, "click", user="u1")).state
    audience = users.audience("s1", 5)
    assert audience.user_ids == ["u1"]
    assert audience.predicted_ctr is not None and 0 < audience.base_ctr < audience.predicted_ctr


clicks_stream = st.lists(
    st.tuples(
        st.sampled_from(["impression", "click", "add_to_cart", "view", "purchase"]),
        st.sampled_from(["ad", "recommendation", "search", "browse"]),
        st.integers(min_value=0, max_value=10**9),  # position
        st.floats(min_value=1e-6, max_value=1e9),  # price shown
        st.integers(min_value=0, max_value=5),  # user
        st.integers(min_value=0, max_value=5),  # SKU
        st.floats(min_value=0, max_value=40_000),  # seconds after the previous event
    ),
    min_size=10,
    max_size=150,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=clicks_stream)
def test_any_valid_click_stream_is_learned_and_audiences_stay_probabilities(stream):
    users, states, ts = engine(), {}, T0
    for i, (action, placement, position, price, user, sku) in enumerate(
        (a, p, pos, pr, f"u{u}", f"s{s}") for a, p, pos, pr, u, s, _ in stream
    ):
        ts += stream[i][6]
        if action == "purchase":
            users.learn_purchase(user, sku)
            continue
        value = {"event_id": f"e{i}", "occurred_at": format_time(ts), "user_id": user,
                 "sku_id": sku, "action": action, "placement": placement,
                 "position": position, "price_shown": price, "device": "d"}  # fmt: skip
        states[user] = users.apply(
            states.get(user), decode("clicks", user.encode(), encoded(value))
        ).state
        states[user] = UserState.from_dict(json.loads(json.dumps(states[user].to_dict())))
    for sku in (f"s{n}" for n in range(6)):
        audience = users.audience(sku, 3)
        assert len(audience.user_ids) <= 3
        if audience.predicted_ctr is not None:
            assert 0 <= audience.predicted_ctr <= 1 and 0 < audience.base_ctr <= 1
    health = users.ctr.health() | users.preference.health()
    assert all(math.isfinite(v) for v in health.values() if isinstance(v, float))
