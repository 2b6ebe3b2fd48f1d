"""The decision log: what a SKU's last deciding inputs caused (for the `/sku` view), kept beside
(not inside) its state."""

from __future__ import annotations

from realtime_mkt.decision_log import RECENT_DECISIONS, DecisionLog, log_key


def decision(n: int) -> tuple[str, dict]:
    return ("restock-requests", {"decision_id": f"d{n}", "quantity": n})


def test_keeps_the_decisions_of_the_last_inputs_per_sku():
    log = DecisionLog()
    for n in range(RECENT_DECISIONS + 2):
        log.remember("sku-1", f"e{n}", [decision(n), decision(100 + n)])
    log.remember("sku-2", "e0", [decision(7)])
    kept = range(2, RECENT_DECISIONS + 2)
    assert log.last("sku-1") == [d for n in kept for d in (decision(n), decision(100 + n))]
    assert log.last("sku-2") == [decision(7)] and log.last("sku-3") == []


def test_shares_a_store_with_sku_states_without_touching_them():
    store: dict = {"decisions": {"sku": "decisions"}, "sku-1": {"sku": "sku-1"}}
    log = DecisionLog(store)
    log.remember("decisions", "e1", [decision(1)])  # a SKU may be called anything
    log.remember("sku-1", "e2", [decision(2)])
    assert store["decisions"] == {"sku": "decisions"} and store["sku-1"] == {"sku": "sku-1"}
    assert log.last("decisions") == [decision(1)]
    assert [k for k in store if isinstance(k, str)] == ["decisions", "sku-1"]
    assert store[log_key("sku-1")][0][1] == [list(decision(2))]
