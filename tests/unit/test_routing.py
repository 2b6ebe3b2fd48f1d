import asyncio
from collections import Counter
from types import SimpleNamespace

from faust.types import TP
from yarl import URL

from realtime_mkt.streaming.bulk_restore import PartitionRestoring
from realtime_mkt.streaming.routing import FORWARDED, owner, partition_of, routed

# murmur2 of these keys as Kafka's Java client computes it (its UtilsTest)
CHANGELOG = "p.app-sku-state-changelog"
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


class Web:
    """What a Faust view's `web` argument offers the decorator: text and json responses."""

    def json(self, value, status=200):
        return ("json", status, value)

    def text(self, body, content_type, status):
        return ("text", status, body)


class Holder:
    """The HTTP client of a worker whose peer at `url` answers every request with `body`."""

    def __init__(self):
        self.asked: list[tuple[str, dict]] = []

    def get(self, url, headers):
        self.asked.append((str(url), headers))
        client = self

        class Response:
            status, content_type = 200, "application/json"

            async def text(self):
                return f"answer to {client.asked[-1][0]}"

            async def __aenter__(self):
                return self

            async def __aexit__(self, *exc):
                return False

        return Response()


class Recovery:
    """Faust's table recovery as the routing reads it: how many changelog records each active
    partition of the assignment still has to restore (None: its end offset is not read yet)."""

    def __init__(self, remaining: dict[TP, int | None]):
        self.remaining = remaining

    def active_remaining(self) -> Counter:
        return Counter({tp: n for tp, n in self.remaining.items() if n is not None})


def worker(
    here: str, assignments: dict, rebalancing: bool = False, remaining: dict | None = None
) -> SimpleNamespace:
    return SimpleNamespace(
        conf=SimpleNamespace(canonical_url=URL(here)),
        router=SimpleNamespace(external_topics_metadata=lambda: assignments),
        http_client=Holder(),
        rebalancing=rebalancing,
        tables=SimpleNamespace(recovery=Recovery(remaining or {})),
    )


def request(sku: str, headers: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(url=URL(f"http://a:6066/sku/{sku}?x=1"), headers=headers or {})


async def local_view(web, request, sku_id):
    return ("local", 200, sku_id)


def test_a_view_is_answered_here_forwarded_once_or_refused_while_unassigned():
    key = "sku-7"
    partition = partition_of(key, 4)
    elsewhere = worker("http://a:6066", {"http://b:7000": {"p.inventory": [partition]}})
    view = routed(elsewhere, "p.inventory", 4, "sku_id", CHANGELOG)(local_view)

    answer = asyncio.run(view(Web(), request(key), sku_id=key))
    assert answer == ("text", 200, "answer to http://b:7000/sku/sku-7?x=1")
    assert elsewhere.http_client.asked == [
        ("http://b:7000/sku/sku-7?x=1", {FORWARDED: "http://a:6066/"})
    ]
    # already forwarded by a worker that thought this one holds it: answered here, not sent back
    again = asyncio.run(view(Web(), request(key, {FORWARDED: "http://b:7000"}), sku_id=key))
    assert again == ("local", 200, key) and len(elsewhere.http_client.asked) == 1

    here = worker("http://a:6066", {"http://a:6066": {"p.inventory": [partition]}})
    assert asyncio.run(
        routed(here, "p.inventory", 4, "sku_id", CHANGELOG)(local_view)(
            Web(), request(key), sku_id=key
        )
    ) == ("local", 200, key)

    nobody = worker("http://a:6066", {"http://b:7000": {"p.inventory": []}})
    refused = asyncio.run(
        routed(nobody, "p.inventory", 4, "sku_id", CHANGELOG)(local_view)(
            Web(), request(key), sku_id=key
        )
    )
    assert refused[:2] == ("json", 503) and nobody.http_client.asked == []


def test_a_view_of_a_partition_restoring_in_bulk_here_is_refused_for_now():
    key = "sku-7"
    here = worker("http://a:6066", {"http://a:6066": {"p.inventory": [partition_of(key, 4)]}})

    async def restoring_view(web, request, sku_id):
        raise PartitionRestoring("partition 1 of sku-state is restoring")

    refused = asyncio.run(
        routed(here, "p.inventory", 4, "sku_id", CHANGELOG)(restoring_view)(
            Web(), request(key), sku_id=key
        )
    )
    assert refused == ("json", 503, {"error": "partition 1 of sku-state is restoring, retry"})


def test_a_view_of_a_partition_faust_still_restores_here_is_refused_until_it_is_up_to_date():
    # a worker that has just taken the partition over reads its keys as unknown until the
    # changelog is restored into its table
    key = "sku-7"
    partition = partition_of(key, 4)
    assigned = {"http://a:6066": {"p.inventory": [partition]}}
    tp = TP(CHANGELOG, partition)

    def answer(**state) -> tuple:
        here = worker("http://a:6066", assigned, **state)
        view = routed(here, "p.inventory", 4, "sku_id", CHANGELOG)(local_view)
        return asyncio.run(view(Web(), request(key), sku_id=key))

    refused = ("json", 503, {"error": f"partition {partition} of {CHANGELOG} is restoring, retry"})
    assert answer(rebalancing=True, remaining={tp: 1200}) == refused
    assert answer(rebalancing=True, remaining={tp: None}) == refused  # its end not read yet
    assert answer(rebalancing=True, remaining={tp: 0}) == ("local", 200, key)  # kept, up to date
    # assigned here, and the recovery has not taken it up yet
    assert answer(rebalancing=True, remaining={TP(CHANGELOG, partition + 1): 0}) == refused
    assert answer(rebalancing=False, remaining={tp: 1200}) == ("local", 200, key)  # over
