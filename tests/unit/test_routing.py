from realtime_mkt.streaming.routing import owner, partition_of

# murmur2 of these keys as Kafka's Java client computes it (its UtilsTest)
JAVA_MURMUR2 = {"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536}


def test_a_key_goes_to_the_partition_kafkas_default_partitioner_gives_it():
    for key, hashed in JAVA_MURMUR2.items():
        for partitions in (1, 4, 7):
            assert partition_of(key, partitions) == (hashed & 0x7FFFFFFF) % partitions


def test_the_owner_is_the_worker_assigned_the_partition():
    assignments = {
        "http://a:6066": {"p.inventory": [0, 2], "p.clicks": [1]},
        "http://b:6066": {"p.inventory": [1, 3], "p.clicks": [0]},
    }
    assert owner(assignments, "p.inventory", 3) == "http://b:6066"
    assert owner(assignments, "p.clicks", 1) == "http://a:6066"
    assert owner(assignments, "p.clicks", 2) is None  # not assigned (a rebalance)
    assert owner({}, "p.inventory", 0) is None
