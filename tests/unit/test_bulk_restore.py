from realtime_mkt.streaming.bulk_restore import far_behind


def test_a_partition_is_far_behind_by_the_records_after_its_persisted_offset():
    assert far_behind(end=10_000, persisted=None, min_records=10_000)  # offsets 0..9,999
    assert not far_behind(end=9_999, persisted=None, min_records=10_000)
    assert far_behind(end=10_100, persisted=99, min_records=10_000)  # offsets 100..10,099
    assert not far_behind(end=10_100, persisted=100, min_records=10_000)
    assert not far_behind(end=0, persisted=None, min_records=0)  # nothing at all to restore
    assert far_behind(end=1, persisted=None, min_records=0)
