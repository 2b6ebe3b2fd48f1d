"""Records a careless producer might send, for the demo's dead-letter showcase."""

from __future__ import annotations


def malformed_examples() -> list[tuple[str, bytes | None, bytes]]:
    """(logical topic, key, raw value) of records the worker must dead-letter."""
    return [
        ("orders", b"o-bad-1", b'{"event_id": "bad-1", "order_id": "o-bad-1"'),
        ("orders", b"o-bad-2", b'{"event_id":"bad-2","occurred_at":"2026-01-05T10:00:00Z","order_id":"o-bad-2",'
         b'"user_id":"u1","status":"placed","lines":[{"sku_id":"sku-0001","quantity":0,"unit_price":9.5}]}'),
        ("price-changes", b"sku-0002", b'{"event_id":"bad-3","occurred_at":"2026-01-05T10:00:00Z",'
         b'"sku_id":"sku-0002","kind":"competitor","price":12.0}'),
        ("clicks", b"u1", b'{"event_id":"bad-4","occurred_at":"yesterday","user_id":"u1","sku_id":"sku-0001",'
         b'"action":"click","placement":"search"}'),
        ("inventory", b"sku-0003", b"\xff\xfe not even text"),
    ]  # fmt: skip
