"""Web views of a key answered by whichever worker of the group holds that key's partition.

A SKU's state lives on the worker assigned its partition; with several workers, `/sku/<id>` on
any of them is forwarded to that one. Faust's own `topic_route` asks its producer's metadata for
the partition, which does not know the input topics the worker never writes to; the partition is
what the default partitioner (murmur2, as every Kafka client's) gives the key, the owner what
Faust's partition assignor last published for the group.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import faust
from aiokafka.partitioner import murmur2
from faust.types import TP
from yarl import URL

from realtime_mkt.streaming.bulk_restore import PartitionRestoring

View = Callable[..., Awaitable[Any]]
# set on a forwarded request: its receiver answers it, even if its idea of who holds the key
# differs from the sender's (during a rebalance), instead of sending it back
FORWARDED = "X-Realtime-Mkt-Forwarded-By"


@functools.lru_cache(maxsize=65_536)
def partition_of(key: str | bytes, partitions: int) -> int:
    """The partition a record keyed `key` (text is UTF-8 encoded) goes to under Kafka's default
    partitioner (kept for the keys seen lately: the SKU agent asks twice for each line of an
    order it reads, and the outbox once for each record it sends)."""
    return (murmur2(key.encode() if isinstance(key, str) else key) & 0x7FFFFFFF) % partitions


def owner(
    assignments: Mapping[str, Mapping[str, Sequence[int]]], topic: str, partition: int
) -> str | None:
    """The URL of the worker assigned `partition` of `topic` (`assignments`: worker URL → topic →
    partitions, as the assignor publishes them), or None if no worker is."""
    for url, topics in assignments.items():
        if partition in topics.get(topic, ()):
            return url
    return None


def restoring(app: faust.App, changelog: str, partition: int) -> bool:
    """Whether this worker's table with the changelog topic `changelog` may not be up to date at
    `partition` during a rebalance: its keys may be missing or behind there until Faust's
    recovery has restored the partition (one the recovery does not know yet, just assigned
    here, included)."""
    return bool(app.rebalancing) and (
        app.tables.recovery.active_remaining().get(TP(changelog, partition)) != 0
    )


def routed(
    app: faust.App, topic: str, partitions: int, param: str, changelog: str
) -> Callable[[View], View]:
    """Decorate a view whose path parameter `param` is a key of `topic`, held in the table with
    the changelog topic `changelog`: a worker that does not hold the key's partition forwards the
    request to the one that does and returns its answer; 503 while no worker holds it (a
    rebalance), while its holder restores it from the changelog (in bulk, or record by record:
    a key not restored yet would read as unknown), or when the holder does not answer. A
    forwarded request is answered where it arrives."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        async def route(web: Any, request: Any, **kwargs: Any) -> Any:
            partition = partition_of(kwargs[param], partitions)
            holder = owner(app.router.external_topics_metadata(), topic, partition)
            if holder is None:
                return web.json(
                    {"error": f"partition {partition} of {topic} is not assigned now, retry"},
                    status=503,
                )
            target = URL(holder)
            here = app.conf.canonical_url
            if (target.host, target.port) == (here.host, here.port) or FORWARDED in request.headers:
                if restoring(app, changelog, partition):
                    return web.json(
                        {"error": f"partition {partition} of {changelog} is restoring, retry"},
                        status=503,
                    )
                try:
                    return await view(web, request, **kwargs)  # forwarded once at most
                except PartitionRestoring as exc:
                    return web.json({"error": f"{exc}, retry"}, status=503)
            forwarded = request.url.with_host(target.host).with_port(target.port)
            try:
                async with app.http_client.get(
                    forwarded, headers={FORWARDED: here.human_repr()}
                ) as response:
                    body = await response.text()
                    return web.text(
                        body, content_type=response.content_type, status=response.status
                    )
            except aiohttp.ClientError as exc:
                return web.json(
                    {"error": f"{holder} holds {kwargs[param]} and did not answer: {exc}"},
                    status=503,
                )

        return route

    return decorate
