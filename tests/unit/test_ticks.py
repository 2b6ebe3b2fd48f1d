from realtime_mkt.engine import SkuEngine, tick
from tests.helpers import DAY, T0, EngineRun, catalog, demand_history, inventory


def test_ticks_let_a_slow_overstocked_sku_learn_and_get_a_promotion():
    run = EngineRun(SkuEngine())
    run.feed(
        [
            ("catalog", catalog("slow")),
            ("inventory", inventory("open", T0, "slow", "snapshot", 300)),
        ]
    )
    busy = run.feed(demand_history("slow", [4, 5, 4, 6]))
    assert not [
        o for o in busy if o.topic == "promo-adjustments"
    ]  # about 60 days of cover: no promotion
    quiet = run.feed([("sku-ticks", tick("slow", T0 + d * DAY + 60)) for d in range(5, 12)])
    state = run.states()["slow"]
    assert state.demand.n == 11  # the sale-less days were learned through the ticks
    assert state.demand.forecast()[0] < 4.75
    # sales stopped: cover grows past 60 days and only the ticks can notice
    assert [o.value["action"] for o in quiet if o.topic == "promo-adjustments"][:1] == ["start"]


def test_a_tick_is_idempotent_per_day():
    run = EngineRun(SkuEngine())
    run.feed(
        [("catalog", catalog("s")), ("inventory", inventory("open", T0, "s", "snapshot", 400))]
    )
    run.feed([("sku-ticks", tick("s", T0 + DAY))])
    before = run.table["s"]
    run.feed([("sku-ticks", tick("s", T0 + DAY + 3600))])  # same day: a duplicate
    assert run.table["s"] == before
