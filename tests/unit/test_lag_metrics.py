"""The worker's lag gauges show the rows of the last measurement, and only those."""

from __future__ import annotations

from prometheus_client import generate_latest

from realtime_mkt.ops.lag import PartitionLag
from realtime_mkt.streaming import metrics


def exported() -> str:
    return generate_latest(metrics.REGISTRY).decode()


def test_lag_rows_become_gauges_and_vanish_when_no_longer_measured():
    metrics.export_lag(
        [
            PartitionLag("p.orders", 0, 10, 15, 5, 42.5),
            PartitionLag("p.orders", 1, 7, 7, 0, 0.0),
            PartitionLag("p.clicks", 3, None, 4, 4, None),  # oldest record unreadable
        ]
    )
    text = exported()
    assert 'realtime_mkt_consumer_lag_records{partition="0",topic="p.orders"} 5.0' in text
    assert 'realtime_mkt_consumer_lag_seconds{partition="0",topic="p.orders"} 42.5' in text
    assert 'realtime_mkt_consumer_lag_records{partition="1",topic="p.orders"} 0.0' in text
    assert 'realtime_mkt_consumer_lag_records{partition="3",topic="p.clicks"} 4.0' in text
    assert 'realtime_mkt_consumer_lag_seconds{partition="3",topic="p.clicks"}' not in text

    metrics.export_lag([PartitionLag("p.orders", 0, 15, 15, 0, 0.0)])
    text = exported()
    assert 'realtime_mkt_consumer_lag_records{partition="0",topic="p.orders"} 0.0' in text
    assert 'topic="p.clicks"' not in text and 'partition="1"' not in text
