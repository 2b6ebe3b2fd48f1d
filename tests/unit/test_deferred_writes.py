"""A batch's table writes held back until its outputs are delivered (`DeferredWrites`)."""

from __future__ import annotations

from realtime_mkt.streaming.deferred_writes import DeferredWrites


class PartitionedTable:
    """Stands in for a `ChangelogTable`: one dict per partition; counts reads."""

    def __init__(self) -> None:
        self.partitions: dict[int, dict] = {}
        self.reads = 0

    def get_in(self, partition, key, default=None):
        self.reads += 1
        return self.partitions.get(partition, {}).get(key, default)

    def set_in(self, partition, key, value) -> None:
        self.partitions.setdefault(partition, {})[key] = value


def test_writes_reach_the_table_only_when_written_each_on_its_partition():
    table = PartitionedTable()
    writes = DeferredWrites(table)
    writes.at(0)
    writes["sku-a"] = {"n": 1}
    writes[("pool", "2")] = 0.5
    writes.at(1)
    writes[("pool", "2")] = -0.5  # the same key on another partition is another entry
    assert table.partitions == {}  # nothing written, nothing read yet
    assert writes.get(("pool", "2")) == -0.5 and writes.get("sku-a") is None
    writes.at(0)
    assert writes.get(("pool", "2")) == 0.5 and writes.get("sku-a") == {"n": 1}
    writes.write()
    assert table.partitions[0] == {"sku-a": {"n": 1}, ("pool", "2"): 0.5}
    assert table.partitions[1] == {("pool", "2"): -0.5}


def test_a_batch_reads_a_key_from_the_table_once_and_sees_it_afresh_after_writing():
    table = PartitionedTable()
    table.partitions[0] = {("pool", "2"): 0.25}
    writes = DeferredWrites(table)
    writes.at(0)
    assert [writes.get(("pool", "2")) for _ in range(3)] == [0.25] * 3
    assert [writes.get("absent", "default") for _ in range(2)] == ["default"] * 2
    assert table.reads == 2
    writes.write()
    table.partitions[0][("pool", "2")] = 0.75  # e.g. restored while no batch ran
    assert writes.get(("pool", "2")) == 0.75 and table.reads == 3
