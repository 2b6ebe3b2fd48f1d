"""Create or delete the catalogue's topics on the broker, idempotently."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from realtime_mkt.catalogue import TopicSpec, load_catalogue
from realtime_mkt.settings import Settings


def catalogue_topics(settings: Settings) -> dict[str, TopicSpec]:
    """The catalogue's topics by their Kafka names under the settings' prefix."""
    return {spec.full_name(settings): spec for spec in load_catalogue().values()}


@contextmanager
def _admin(settings: Settings) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="realtime-mkt-admin"
    )
    try:
        yield admin
    finally:
        admin.close()


def create_topics(settings: Settings) -> dict[str, str]:
    """Create every catalogue topic that does not exist, and set the catalogue's configs on those
    that do where they differ; return name -> 'created' | 'updated' | 'exists'.

    Only the configs the catalogue names are set (others an operator changed are kept). Returns
    once every topic has a leader for each partition: a worker started on topics its broker does
    not list yet (a just-started broker lags) ignores them and never consumes them.
    """
    with _admin(settings) as admin:
        existing = set(admin.list_topics())
        specs = catalogue_topics(settings)
        updated = align_configs(admin, {n: s for n, s in specs.items() if n in existing})
        result: dict[str, str] = {}
        for name, spec in specs.items():
            if name in existing:
                result[name] = "updated" if name in updated else "exists"
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


def topic_problems(settings: Settings) -> tuple[list[str], list[str]]:
    """The catalogue's topics under the settings' prefix that the broker does not have, and
    those it has with another partition count than the catalogue's (each as a sentence)."""
    specs = catalogue_topics(settings)
    with _admin(settings) as admin:
        existing = set(admin.list_topics())
        present = [name for name in specs if name in existing]
        described = admin.describe_topics(present) if present else []
    missing = sorted(name for name in specs if name not in existing)
    differing = [
        f"{topic['name']} has {len(topic['partitions'])} partitions, the catalogue "
        f"{specs[topic['name']].partitions}"
        for topic in described
        if len(topic["partitions"]) != specs[topic["name"]].partitions
    ]
    return missing, sorted(differing)


def align_configs(admin: KafkaAdminClient, topics: dict[str, TopicSpec]) -> set[str]:
    """Set the catalogue's configs on existing topics where the broker's differ (e.g. a changelog
    created before the catalogue asked for compression); return the names of those changed.

    One describe and at most one alter request for all the topics.
    """
    if not topics:
        return set()
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics], config_filter="all"
    )["topic"]
    changes = {
        name: changed
        for name, spec in topics.items()
        if (
            changed := {
                key: value
                for key, value in spec.config.items()
                if described[name].get(key, {}).get("value") != value
            }
        )
    }
    if changes:
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, configs=c) for n, c in changes.items()
        ]
        for name, outcome in admin.alter_configs(resources)["topic"].items():
            if outcome != "OK":
                raise RuntimeError(f"could not set {changes[name]} on topic {name}: {outcome}")
    return set(changes)


def delete_topics(settings: Settings) -> list[str]:
    """Delete every catalogue topic under the settings' prefix that exists; return their names.

    Throwaway prefixes (tests, benchmarks, demos) would otherwise pile up partitions on the broker,
    and a broker with tens of thousands of partitions takes minutes to start.
    """
    with _admin(settings) as admin:
        existing = set(admin.list_topics())
        names = sorted(name for name in catalogue_topics(settings) if name in existing)
        if names:
            # a topic deleted meanwhile by someone else is the outcome asked for
            with suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(names, timeout_ms=60_000)
        return names
