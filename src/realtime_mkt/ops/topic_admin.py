"""Create or delete the catalogue's topics on the broker, idempotently."""

from __future__ import annotations

from contextlib import suppress

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from realtime_mkt.catalogue import load_catalogue
from realtime_mkt.settings import Settings


def create_topics(settings: Settings) -> dict[str, str]:
    """Create every catalogue topic that does not exist; return name -> 'created' | 'exists'.

    Returns once every topic has a leader for each partition: a worker started on topics its
    broker does not list yet (a just-started broker lags) ignores them and never consumes them.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="realtime-mkt-admin"
    )
    try:
        existing = set(admin.list_topics())
        result: dict[str, str] = {}
        for spec in load_catalogue().values():
            name = spec.full_name(settings)
            if name in existing:
                result[name] = "exists"
                continue
            new = NewTopic(
                name, spec.partitions, spec.replication_factor, topic_configs=spec.config
            )
            try:
                admin.create_topics([new])
                result[name] = "created"
            except TopicAlreadyExistsError:
                result[name] = "exists"
        admin.wait_for_topics(list(result), timeout_ms=60_000)
        return result
    finally:
        admin.close()


def delete_topics(settings: Settings) -> list[str]:
    """Delete every catalogue topic under the settings' prefix that exists; return their names.

    Throwaway prefixes (tests, benchmarks, demos) would otherwise pile up partitions on the broker,
    and a broker with tens of thousands of partitions takes minutes to start.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="realtime-mkt-admin"
    )
    try:
        existing = set(admin.list_topics())
        names = sorted(
            name
            for name in (spec.full_name(settings) for spec in load_catalogue().values())
            if name in existing
        )
        if names:
            # a topic deleted meanwhile by someone else is the outcome asked for
            with suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(names, timeout_ms=60_000)
        return names
    finally:
        admin.close()
