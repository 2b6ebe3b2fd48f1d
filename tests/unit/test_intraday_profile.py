import json

import pytest

from realtime_mkt.models import intraday_profile
from realtime_mkt.models.intraday_profile import IntradayProfile, clock_share

HOUR = 3600.0
DAY = 24 * HOUR
T0 = 1_700_006_400.0  # a midnight, UTC


def test_a_young_profile_reads_the_clock():
    profile = IntradayProfile()
    for start, end in ((0, 12 * HOUR), (6.5 * HOUR, 7 * HOUR), (18 * HOUR, DAY)):
        assert profile.share(start, end) == pytest.approx(clock_share(start, end))


def test_orders_teach_when_demand_comes():
    """An evening shop: 90 units an hour from 18:00 to midnight, 10 an hour otherwise."""
    profile = IntradayProfile()
    for day in range(30):
        for hour in range(24):
            units = 90 if hour >= 18 else 10
            profile.learn(T0 + day * DAY + hour * HOUR + 1800, units)
    evening, other = 30 * 90 + 10, 30 * 10 + 10  # an hour's units, with the prior of 10
    truth = 6 * evening / (6 * evening + 18 * other)
    assert profile.share(18 * HOUR, DAY) == pytest.approx(truth, rel=0.02)
    assert profile.share(18 * HOUR, DAY) > 0.7
    # within an hour the share grows evenly
    assert profile.share(18 * HOUR, 18.5 * HOUR) == pytest.approx(
        profile.share(18 * HOUR, 19 * HOUR) / 2
    )
    assert profile.share(0, DAY) == pytest.approx(1.0)
    assert profile.share(12 * HOUR, 12 * HOUR) == 0.0


def test_counts_are_halved_past_their_bound_and_keep_their_shape(monkeypatch):
    monkeypatch.setattr(intraday_profile, "MAX_UNITS", 1_000.0)
    profile = IntradayProfile()
    for day in range(20):
        profile.learn(T0 + day * DAY + 3 * HOUR, 50)
    counts = profile.counts()
    assert sum(counts) <= 1_000.0
    assert counts[3] / counts[4] > 20  # hour 3's orders, against hour 4's prior, halved alike


def test_the_profile_lives_in_the_store_it_is_given():
    store: dict = {}
    IntradayProfile(store).learn(T0 + 20 * HOUR, 100)
    restored = {intraday_profile.KEY: json.loads(json.dumps(store[intraday_profile.KEY]))}
    assert IntradayProfile(restored).share(20 * HOUR, 21 * HOUR) == pytest.approx(110 / 340)
    assert IntradayProfile().share(20 * HOUR, 21 * HOUR) == pytest.approx(1 / 24)
