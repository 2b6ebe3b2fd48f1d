import json

from realtime_mkt.producer import LineError, Record, read_file
from tests.helpers import T0, inventory, order


def test_jsonl_envelopes_and_per_line_errors(tmp_path):
    path = tmp_path / "events.jsonl"
    good = order("e1", T0, [("sku-1", 1)])
    path.write_text(
        "\n".join([
            json.dumps({"topic": "orders", "value": good}),
            "{not json",
            json.dumps({"topic": "refunds", "value": {}}),
            json.dumps({"topic": "inventory", "value": {"kind": "snapshot"}}),
            "",
            json.dumps({"topic": "orders", "key": "custom", "value": good}),
        ])
    )  # fmt: skip
    items = list(read_file(path))
    assert items[0] == Record(1, "orders", "o-e1", good)
    assert (
        isinstance(items[1], LineError)
        and items[1].line == 2
        and "not valid JSON" in items[1].error
    )
    assert isinstance(items[2], LineError) and "not an input topic" in items[2].error
    assert isinstance(items[3], LineError) and "'sku_id'" in items[3].error
    assert items[4] == Record(6, "orders", "custom", good)


def test_bare_jsonl_with_topic(tmp_path):
    path = tmp_path / "inv.jsonl"
    value = inventory("i1", T0, "sku-9", "snapshot", 4)
    path.write_text(json.dumps(value) + "\n")
    assert list(read_file(path, "inventory")) == [Record(1, "inventory", "sku-9", value)]


def test_csv_cells_are_typed_by_the_schema(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "event_id,occurred_at,order_id,user_id,status,lines\n"
        'e1,2026-11-02T10:00:00Z,o1,u1,placed,"[{""sku_id"": ""s"", ""quantity"": 2, ""unit_price"": 3.5}]"\n'
        "e2,2026-11-02T10:00:00Z,,u1,placed,[]\n"
    )
    first, second = read_file(path, "orders")
    assert first.value["lines"] == [{"sku_id": "s", "quantity": 2, "unit_price": 3.5}]
    assert isinstance(second, LineError) and second.line == 3 and "order_id" in second.error
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "sku_id,category,unit_cost,list_price,min_price,max_price,lead_time_days,order_multiple\ns,toys,1,2,1.5,3,4,6\n"
    )
    (record,) = read_file(catalog, "catalog")
    assert record.value["order_multiple"] == 6 and record.value["unit_cost"] == 1.0


def test_csv_needs_a_topic(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    (error,) = read_file(path)
    assert "needs --topic" in error.error
