"""Faust application factory; `app` is the worker (`faust -A realtime_mkt.streaming.app worker`)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import faust
from kafka.errors import KafkaError
from prometheus_client import generate_latest

from realtime_mkt.catalogue import SKU_INPUTS, load_catalogue
from realtime_mkt.decision_log import DecisionLog
from realtime_mkt.decisions import DECISION_TOPICS, anchor_fields
from realtime_mkt.engine import (
    DAY_CLOSING,
    SIGNAL_ACTIONS,
    SkuEngine,
    closing_day,
    forecast_factor,
    order_lines,
    price_anchor,
    priced_response,
    sku_signal,
    tick,
)
from realtime_mkt.events import (
    ORIGIN_TOPICS,
    InputEvent,
    RejectedEvent,
    checked,
    dead_letter,
    decode,
    decode_as,
    format_time,
    not_ahead,
)
from realtime_mkt.key_value import KeyValueStore
from realtime_mkt.models.base import OnlineModel
from realtime_mkt.models.category_response import CategoryResponses
from realtime_mkt.models.ctr import CtrModel
from realtime_mkt.models.daily_demand import SECONDS_PER_DAY, day_of
from realtime_mkt.models.preference import PreferenceModel
from realtime_mkt.ops.lag import group_lag
from realtime_mkt.policies.category_markup import CategoryMarkups
from realtime_mkt.policies.list_price_error import ListPriceError
from realtime_mkt.policies.optimum import optimum_price
from realtime_mkt.policies.pricing import PricingConfig, optimum_weight, spread_to_keep
from realtime_mkt.policies.restock import planned_safety_factor
from realtime_mkt.positions import Position, source_of
from realtime_mkt.settings import Settings
from realtime_mkt.sku_state import SkuState
from realtime_mkt.streaming import bulk_restore, checkpoint, heap, metrics, routing
from realtime_mkt.streaming.batches import KeyRun, apply_in_order, by_key
from realtime_mkt.streaming.consumer import consumer_url
from realtime_mkt.streaming.deferred_writes import DeferredWrites
from realtime_mkt.streaming.fatal import ends_worker_on_error
from realtime_mkt.streaming.flow_control import App
from realtime_mkt.streaming.inbox import Inbox, Record
from realtime_mkt.streaming.outbox import ChangelogTable, Outbox
from realtime_mkt.streaming.read_progress import ReadProgress, earliest
from realtime_mkt.user_engine import UserEngine, UserState

log = logging.getLogger(__name__)
CHECKPOINT_SECONDS = 30.0
CHECKPOINT_SHARE = 0.1  # the most of the time a model checkpoint process may be running
LAG_SECONDS = 15.0  # how often a worker with the web on measures its group's lag for /metrics
TICK_CHUNK = 1000  # ticks produced between two turns of the agents
PROGRESS_SECONDS = 0.25  # how often a worker passes on how far it has read its orders and clicks
SESSION_TIMEOUT = 10.0  # seconds
# A member learns from a heartbeat's answer that its group is rebalancing, and the rebalance
# waits for every member: with Faust's 3 s, a worker joining a running group (or restarted
# beside one) waited up to 3 s before any member went on (docs/benchmarks.md, *Stop 27*).
HEARTBEAT_SECONDS = 1.0
# RocksDB memory per table partition. Faust's defaults (a 2 GiB block cache and up to 3 × 64 MiB
# memtables for each of the eight stores) would let a worker with 1M SKUs and 1M users grow far
# past the 2 GiB budget; these bound the stores at 8 × (32 + 2 × 16) MiB = 512 MiB.
TABLE_OPTIONS = {
    "block_cache_size": 32 * 2**20,
    "write_buffer_size": 16 * 2**20,
    "max_write_buffer_number": 2,
}
# Agents take their records from their inboxes in batches (`streaming/inbox.py`): up to BATCH_MAX
# at once, at most one every BATCH_WITHIN seconds (so at low rates a batch adds at most that
# latency).
BATCH_MAX = 4000
BATCH_WITHIN = 0.01
T = TypeVar("T")
S = TypeVar("S")


def create_app(settings: Settings) -> faust.App:
    """Build the worker: topics from the catalogue, tables, models, agents and web views.

    The consumer hands the input topics' records to the agents' inboxes, and agents handle them
    in batches (`valid_batches`): each key's state is read and stored
    once per batch, and stored only once the broker has the batch's outputs (`DeferredWrites`);
    the tables' changelog records then go to the producer through the `Outbox` before the batch
    is acknowledged. Faust flushes the producer before it commits offsets, so at-least-once holds
    for outputs and state alike.
    """
    catalogue = load_catalogue()
    # kafka-python (the consumer-lag gauges) logs each connection at INFO
    logging.getLogger("kafka").setLevel(logging.WARNING)
    app = App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        broker_consumer=consumer_url(settings.bootstrap_servers),
        store=bulk_restore.store_url(settings.bulk_restore_min_records),
        datadir=str(settings.data_dir),
        topic_partitions=catalogue["inventory"].partitions,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        processing_guarantee="at_least_once",
        # A batch waits for its outputs' acknowledgement before its states are stored and the
        # next batch starts, so the linger is paid once a batch: 1 ms rather than 5 lowered p99
        # at 2,000 events/s in each of five paired runs (35-72 ms against 42-92), for no CPU
        # that shows (docs/benchmarks.md).
        producer_linger=0.001,
        producer_max_batch_size=262_144,
        # A worker that crashed stays in its group until its session times out, and a restarted
        # one is not assigned partitions before that: Faust's default 60 s made a crash cost a
        # minute of silence. Heartbeats come from the consumer's own thread, so a busy event
        # loop does not miss them.
        broker_session_timeout=SESSION_TIMEOUT,
        broker_heartbeat_interval=HEARTBEAT_SECONDS,
        table_standby_replicas=settings.standby_replicas,
    )
    logical = {spec.full_name(settings): name for name, spec in catalogue.items()}
    metrics.export_known_labels(
        (n for n, spec in catalogue.items() if spec.role in ("input", "internal")),
        DECISION_TOPICS,
    )

    def kafka_topic(*names: str) -> faust.TopicT:
        return app.topic(
            *(catalogue[n].full_name(settings) for n in names),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=catalogue[names[0]].partitions,
        )

    outbox = Outbox(app, {name: spec.full_name(settings) for name, spec in catalogue.items()})

    def table(name: str, partitions: int) -> ChangelogTable:
        """A JSON table whose changelog records are sent with its batch's outputs."""
        created = ChangelogTable(
            app,
            outbox=outbox,
            name=name,
            beacon=app.tables.beacon,
            partitions=partitions,
            options=TABLE_OPTIONS,
        )
        return app.tables.add(created)

    sku_table = table("sku-state", catalogue["inventory"].partitions)
    user_table = table("user-state", catalogue["clicks"].partitions)
    sku_writes, user_writes = DeferredWrites(sku_table), DeferredWrites(user_table)
    models_dir = settings.data_dir / "models"
    users = UserEngine(
        checkpoint.load(models_dir / "ctr.pkl", CtrModel()),
        checkpoint.load(models_dir / "preference.pkl", PreferenceModel()),
    )
    # the decision log and what the engine pools over SKUs (restock's corrections, the list
    # prices' error, the categories' price responses and yearly seasons, when in the day orders
    # come) share the SKU table, so their entries are written to the partition of the SKU being
    # applied (`DeferredWrites.at`) and its changelog, with the batch's states
    engine = SkuEngine(audience=users.audience, store=sku_writes)
    shared_models: tuple[OnlineModel, ...] = (users.ctr, users.preference)

    lines_spec = catalogue["order-lines"]
    lines_topic = lines_spec.full_name(settings)
    # how far the workers have read `orders` and `clicks`, by the topic relaying them to the SKUs
    # (`streaming/read_progress.py`): a worker applies the lines of its own SKU partitions as it
    # reads their orders, while every click signal goes through `sku-signals`
    progress = {
        relay: ReadProgress(catalogue[source].partitions, applied_at_once=relay == "order-lines")
        for relay, source in ORIGIN_TOPICS.items()
    }
    # the progress records of the batch being taken in: they cover the records before them, so
    # they count only once the whole batch is applied
    heard: list[tuple[str, int, dict[str, Any]]] = []

    def accept(event: Record) -> InputEvent | None:
        """Decode a record; reject it to the dead-letter topic (never raise) if it is bad or
        stamped more than a day ahead of this worker's clock (`events.not_ahead`). An
        `order-lines` or `sku-signals` record without a key is a worker's progress through
        `orders` or `clicks`: taken in, not applied."""
        message = event.message
        name = logical[message.topic]
        try:
            if name in progress and event.key is None:
                value = decode_as("read-progress.v1", event.value)
                heard.append((name, message.partition, value))
                return None
            read = Position(source_of(name, message.partition), message.offset)
            return not_ahead(decode(name, event.key, event.value, read), time.time())
        except RejectedEvent as rejection:
            reject(event, rejection)
            return None

    def origin_of(event: Record, part: int) -> dict[str, int]:
        """The `origin` of a record made of `event` (an order's line, a click's signal), by
        this worker in its group's current generation (README *Duplicates*)."""
        message = event.message
        return {
            "partition": message.partition,
            "offset": message.offset,
            "part": part,
            "generation": app.consumer_generation_id,
        }

    orders_read_since: dict[int, tuple[int, int]] = {}  # partition -> generation, first offset

    def line_origin(event: Record, part: int) -> dict[str, int]:
        """The `origin` of an order's line, with `since`: the offset of the first order this
        worker read of the order's partition in its group's current generation."""
        origin = origin_of(event, part)
        partition, generation = origin["partition"], origin["generation"]
        started = orders_read_since.get(partition)
        if started is None or started[0] != generation:
            started = orders_read_since[partition] = (generation, origin["offset"])
        return origin | {"since": started[1]}

    def reject(event: Record, rejection: RejectedEvent) -> None:
        message = event.message
        metrics.DEAD_LETTERS.labels(logical[message.topic]).inc()
        record = dead_letter(
            rejection, message.topic, message.partition, message.offset, event.value, time.time()
        )
        outbox.add("dead-letter", event.key, record)

    async def valid_batches(inbox: Inbox) -> AsyncIterator[list[tuple[Record, InputEvent]]]:
        """The inbox's records in batches (acknowledged once the agent has handled the whole
        batch), those that pass validation; the rest go to the dead-letter topic."""
        async for records in inbox.batches(app.consumer.ack):
            for topic_name, count in Counter(r.message.topic for r in records).items():
                metrics.EVENTS.labels(logical[topic_name]).inc(count)
            yield [(r, a) for r in records if (a := accept(r)) is not None]
            await outbox.flush()

    def guarded(event: Record, step: Callable[[], T]) -> T | None:
        """Run one event's processing; a bug dead-letters the event instead of blocking the partition."""
        try:
            return step()
        except Exception as exc:
            report_failure(event, exc)
            return None

    def report_failure(event: Record, exc: Exception) -> None:
        log.error(
            "processing failed on %s@%s",
            event.message.topic,
            event.message.offset,
            exc_info=exc,
        )
        reject(event, RejectedEvent(None, f"internal error: {exc!r}"))

    def learn_purchases(lines: list[dict[str, Any]]) -> None:
        for line in lines:
            if line["status"] == "placed":
                users.learn_purchase(line["user_id"], line["sku_id"])

    def apply_keyed(
        writes: DeferredWrites,
        key: str,
        items: list[tuple[Record, InputEvent]],
        partition: int,
        load: Callable[[dict[str, Any]], S],
        apply: Callable[[S | None, InputEvent], Any],
    ) -> KeyRun[Record, S]:
        """Apply one key's events of a batch to its state, read once from the table's
        `partition`, and write the new state (held back until `stored_once_delivered`); dead-letter
        the events whose processing failed, count duplicates."""
        writes.at(partition)

        def initial() -> S | None:
            stored = writes.get(key)
            return load(stored) if stored else None

        run = apply_in_order(initial, items, apply)
        for event, exc in run.failures:
            report_failure(event, exc)
        for _, accepted, outcome in run.outcomes:
            if outcome.duplicate:
                metrics.DUPLICATES.labels(accepted.topic).inc()
        if run.state is not None:
            writes[key] = run.state.to_dict()
        return run

    async def stored_once_delivered(writes: DeferredWrites) -> None:
        """Send the batch's outputs, and once the broker has them (or the producer gave up on
        them, which is logged and counted), store the batch's states."""
        await outbox.flush(delivered=True)
        writes.write()

    def sku_inputs(
        batch: list[tuple[Record, InputEvent]],
    ) -> list[tuple[Record, InputEvent]]:
        """The batch's SKU events, orders replaced by their lines whose SKU partition is this
        worker's (the rest go to `order-lines`, for the worker that has theirs); purchases teach
        the preference model. A line applied here keeps its order's event: its ack, and its dead
        letter if it fails. Sales and ticks carry the bound their SKU's days close under, as it
        stands where they are in the batch (`streaming/read_progress.py`); where an orders
        partition's day moved, the others learn it after the batch's lines."""
        local = assigned(lines_topic)
        generation = app.consumer_generation_id
        update_own_progress(generation)
        bounds: dict[int, int | None] = {}  # SKU partition -> its bound, until it moves

        def bounded(accepted: InputEvent, partition: int) -> InputEvent:
            if partition not in bounds:
                bounds[partition] = sku_bound(partition, generation)
            bound = bounds[partition]
            return accepted if bound is None else accepted._replace(closing_bound=bound)

        inputs = []
        moved = False
        for event, accepted in batch:
            message = event.message
            if accepted.topic != "orders":
                if accepted.topic in DAY_CLOSING:
                    accepted = bounded(accepted, message.partition)
                inputs.append((event, accepted))
                continue
            assert accepted.ts is not None
            if progress["order-lines"].read(
                message.partition, generation, message.offset, accepted.ts
            ):
                bounds.clear()
                moved = True
            lines = order_lines(accepted.value)
            guarded(event, lambda lines=lines: learn_purchases(lines))
            for part, line in enumerate(lines):
                line["origin"] = line_origin(event, part)
                key = line["sku_id"].encode()
                partition = routing.partition_of(line["sku_id"], lines_spec.partitions)
                if partition not in local:
                    outbox.add("order-lines", key, line)
                    continue
                try:
                    inputs.append((event, bounded(checked("order-lines", key, line), partition)))
                except RejectedEvent as rejection:
                    reject(event, rejection)
        if moved:
            pass_on("order-lines")
        return inputs

    def update_own_progress(generation: int) -> None:
        """This worker's progress through its orders and clicks partitions, from where its
        consumer stands on each."""
        consumer = app.consumer
        for relay, relayed in progress.items():
            source = catalogue[ORIGIN_TOPICS[relay]].full_name(settings)
            relayed.update(
                generation,
                {
                    tp.partition: (consumer.committed_offset(tp), consumer.fetched_end(tp))
                    for tp in app.assignor.assigned_actives()
                    if tp.topic == source
                },
            )

    def sku_bound(partition: int, generation: int) -> int | None:
        """The earliest day whose orders or clicks may still reach the SKUs of `partition`
        (None: no day is held open)."""
        return earliest(relayed.bound(partition, generation) for relayed in progress.values())

    def assigned(topic: str) -> set[int]:
        """The partitions of `topic` this worker holds (actively)."""
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

    def sku_partition(sku_id: str, event: Record) -> int:
        """The partition of a SKU's state: its input's, or, for a line of an order (whose
        topic is keyed otherwise), the one its `order-lines` record would have had."""
        if logical[event.message.topic] == "orders":
            return routing.partition_of(sku_id, lines_spec.partitions)
        return event.message.partition

    # the consumer hands an agent's records to its inbox (`streaming/inbox.py`)
    sku_topic = kafka_topic(*SKU_INPUTS)
    sku_inbox = app.inbox(sku_topic.topics, BATCH_MAX, BATCH_WITHIN)

    @app.agent(sku_topic)
    @ends_worker_on_error
    async def sku_events(stream: faust.StreamT) -> None:
        """Apply SKU-keyed events (and orders' lines) to per-SKU state and publish the decisions
        they cause (the records come through `sku_inbox`; the stream stays unread)."""
        async for batch in valid_batches(sku_inbox):
            for sku_id, items in by_key(sku_inputs(batch), "sku_id").items():
                partition = sku_partition(sku_id, items[0][0])
                run = apply_keyed(
                    sku_writes, sku_id, items, partition, SkuState.from_dict, engine.apply
                )
                for _, _, outcome in run.outcomes:
                    if outcome.held:
                        metrics.HELD.labels(outcome.held).inc()
                    if outcome.cycle:
                        metrics.RESTOCK_CYCLES.labels(outcome.cycle).inc()
                    if outcome.late_sale:
                        metrics.LATE_SALES.inc()
                    if outcome.late_click:
                        metrics.LATE_CLICKS.inc()
                    for out in outcome.outputs:
                        metrics.DECISIONS.labels(out.topic).inc()
                        outbox.add(out.topic, out.key.encode(), out.value)
            for relay, partition, value in heard:
                progress[relay].hear(partition, value)
            heard.clear()
            await stored_once_delivered(sku_writes)

    user_topic = kafka_topic("clicks")
    user_inbox = app.inbox(user_topic.topics, BATCH_MAX, BATCH_WITHIN)

    @app.agent(user_topic)
    @ends_worker_on_error
    async def user_events(stream: faust.StreamT) -> None:
        """Learn CTR and preference from clicks; pass clicks and add-to-carts on to their SKU.

        A user's state remembers the clicks it has seen, so it is stored only once the signals
        of its batch are on the broker (`stored_once_delivered`): stored first, it outlived a
        worker killed before they left, and the restarted worker dropped those clicks as seen,
        with their signals (the SKU agent's decisions are held back the same way). The signals
        leave in their clicks' order: a SKU takes one that comes after a later click of the
        same partition for a repeat (`positions.py`).
        """
        async for batch in valid_batches(user_inbox):
            generation = app.consumer_generation_id
            moved = False
            for event, accepted in batch:
                assert accepted.ts is not None
                message = event.message
                moved |= progress["sku-signals"].read(
                    message.partition, generation, message.offset, accepted.ts
                )
            signals: list[tuple[int, int, dict[str, Any]]] = []  # partition, offset, signal
            for user_id, items in by_key(batch, "user_id").items():
                run = apply_keyed(
                    user_writes,
                    user_id,
                    items,
                    items[0][0].message.partition,
                    UserState.from_dict,
                    users.apply,
                )
                for event, accepted, outcome in run.outcomes:
                    if not outcome.duplicate and accepted.value["action"] in SIGNAL_ACTIONS:
                        signal = sku_signal(accepted.value) | {"origin": origin_of(event, 0)}
                        signals.append((event.message.partition, event.message.offset, signal))
            for _, _, signal in sorted(signals, key=lambda s: s[:2]):
                outbox.add("sku-signals", signal["sku_id"].encode(), signal)
            if moved:  # a new day: the SKUs may close the last one once they know
                pass_on("sku-signals")
            await stored_once_delivered(user_writes)

    def pass_on(relay: str) -> bool:
        """Write how far this worker has read its partitions of the topic `relay` relays into
        every partition of `relay`, after what it relayed, where that changed
        (`streaming/read_progress.py`); whether it did."""
        records = progress[relay].to_send(time.monotonic())
        for record in records:
            for partition in range(catalogue[relay].partitions):
                outbox.add(relay, None, record, partition)
        return bool(records)

    @app.timer(PROGRESS_SECONDS)
    async def pass_on_read_progress() -> None:
        """Pass on how far this worker has read its orders and clicks partitions, where that
        changed (the agents pass on a new day at once); export how many days its SKUs hold
        open for orders and clicks still to come."""
        update_own_progress(app.consumer_generation_id)
        if engine.clock is not None and (day := closable_day()) is not None:
            metrics.DAYS_HELD_OPEN.set(day_of(engine.clock) - day)
        if any([pass_on(relay) for relay in progress]):
            await outbox.flush()

    def closable_day() -> int | None:
        """The day this worker's SKUs may close their days up to now: that of the newest sale
        or tick it applied, held back to the earliest day whose orders or clicks may still
        come to them (None before the first)."""
        if engine.clock is None:
            return None
        generation = app.consumer_generation_id
        bound = earliest(sku_bound(q, generation) for q in assigned(lines_topic))
        return closing_day(day_of(engine.clock), bound)

    ticked_day = -1

    @app.timer(settings.tick_seconds)
    async def daily_ticks() -> None:
        """Once per event-time day, re-evaluate every local SKU (slow movers get no other event),
        at most `settings.tick_rate` SKUs a second: a million ticks at once would fill the SKU
        agent's input for minutes, and live orders would wait behind them."""
        nonlocal ticked_day
        day = closable_day()
        if day is None or day <= ticked_day:
            return
        ticked_day = day
        at = engine.clock if day == day_of(engine.clock) else day * SECONDS_PER_DAY
        # the keys first, so no table iterator stays open through the paced sends (a rebalance
        # closes the stores of the partitions it takes away); in chunks, since a million SKUs
        # would otherwise hold the event loop for seconds
        skus: list[str] = []
        for n, key in enumerate(sku_table, start=1):
            if isinstance(key, str):  # not a decision log or a pooled entry
                skus.append(key)
            if n % TICK_CHUNK == 0:
                await asyncio.sleep(0)
        pause = TICK_CHUNK / settings.tick_rate if settings.tick_rate > 0 else 0.0
        for start in range(0, len(skus), TICK_CHUNK):
            for sku_id in skus[start : start + TICK_CHUNK]:
                outbox.add("sku-ticks", sku_id.encode(), tick(sku_id, at))
            await outbox.flush()
            if start + TICK_CHUNK < len(skus):
                await asyncio.sleep(pause)

    @app.task
    async def freeze_long_lived() -> None:
        """Keep the models and Faust's long-lived structures out of full collections, from the
        start on (`streaming/heap.py`)."""
        heap.collect_young_less_often()
        while True:
            metrics.FROZEN_OBJECTS.set(heap.freeze_survivors())
            await asyncio.sleep(heap.FREEZE_SECONDS)

    checkpoint_due = 0.0  # monotonic time of the next model checkpoint

    @app.timer(CHECKPOINT_SECONDS)
    async def checkpoint_models() -> None:
        """Export the shared models' health; persist them so a restarted worker resumes
        learning, in a forked child so the event loop does not wait while they are pickled, and
        no more often than keeps that child busy CHECKPOINT_SHARE of the time (it takes a core:
        13 s for a million users' models, every 130 s instead of every 30 s)."""
        nonlocal checkpoint_due
        for model in shared_models:
            for metric, value in model.health().items():
                metrics.MODEL_HEALTH.labels(model.name, metric).set(value)
        started = time.monotonic()
        if started < checkpoint_due:
            return
        error = await checkpoint.save_in_background(
            {models_dir / f"{model.name}.pkl": model for model in shared_models}
        )
        took = time.monotonic() - started
        checkpoint_due = started + took / CHECKPOINT_SHARE
        metrics.CHECKPOINT_SECONDS.set(took)
        if error is not None:
            metrics.CHECKPOINT_FAILURES.inc()
            log.error("model checkpoint failed, the previous one stands: %s", error)

    if settings.web_enabled:

        @app.timer(LAG_SECONDS)
        async def export_consumer_lag() -> None:
            """Measure the group's lag per partition (as `realtime-mkt lag` does) for /metrics."""
            loop = asyncio.get_running_loop()
            try:  # kafka-python blocks: off the event loop
                rows = await loop.run_in_executor(
                    None, group_lag, settings.bootstrap_servers, settings.app_id
                )
            except KafkaError as exc:
                log.warning("consumer lag not measured: %r", exc)
                return
            metrics.export_lag(rows)

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        # Prometheus' text format; aiohttp sets the charset itself
        metrics.export_standby_lag(app.standby_copies.lag())
        metrics.export_list_prices(held_list_prices())
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=metrics.CONTENT_TYPE)

    def stored_at(partition: int) -> DeferredWrites:
        """The SKU table's entries of a partition as stored (its pools), only read."""
        stored = DeferredWrites(sku_table)
        stored.at(partition)
        return stored

    def held_list_prices() -> dict[int, tuple[float, int, float]]:
        """For each SKU partition this worker holds: the list prices' error its pricing weighs
        with, how many SKUs it was learned from, and the list price's share of pricing's anchor
        (below 1: blended with the categories' markups)."""
        held = {}
        for partition in sorted(assigned(catalogue["inventory"].full_name(settings))):
            pool = ListPriceError(engine.list_price_error.prior, stored_at(partition))
            held[partition] = (pool.value(), int(pool.sums()[0]), pool.blend()[0])
        return held

    @app.page("/health")
    async def model_health(web: Any, request: Any) -> Any:
        """Each shared model's progressive metrics, and `held_list_prices`."""
        list_prices = {
            str(partition): {"error": error, "skus": skus, "list_share": share}
            for partition, (error, skus, share) in held_list_prices().items()
        }
        return web.json({**{m.name: m.health() for m in shared_models}, "list_prices": list_prices})

    # a view of a key another worker holds is answered by that worker, found by an input topic
    # partitioned like the key's table (SKU-keyed topics and the SKU table are co-partitioned,
    # clicks and the user table)
    def routed_by(name: str, param: str, table: ChangelogTable) -> Callable[[Any], Any]:
        spec = catalogue[name]
        return routing.routed(
            app, spec.full_name(settings), spec.partitions, param, table.changelog_topic_name
        )

    by_sku = routed_by("inventory", "sku_id", sku_table)
    by_user = routed_by("clicks", "user_id", user_table)
    # views read the table as stored (the agent's `sku_writes` is its batch's, on one partition)
    stored_decisions = DecisionLog(sku_table)

    def sku_answer(web: Any, sku_id: str, show: Callable[[SkuState], dict[str, Any]]) -> Any:
        stored = sku_table.get(sku_id)
        if stored is None:
            return web.json({"error": f"{sku_id} is unknown"}, status=404)
        return web.json(show(SkuState.from_dict(stored)))

    @app.page("/sku/{sku_id}")
    @by_sku
    async def sku_view(web: Any, request: Any, sku_id: str) -> Any:
        return sku_answer(
            web,
            sku_id,
            lambda state: sku_summary(
                engine,
                state,
                stored_decisions,
                stored_at(routing.partition_of(sku_id, catalogue["inventory"].partitions)),
            ),
        )

    @app.page("/forecast/{sku_id}")
    @by_sku
    async def forecast_view(web: Any, request: Any, sku_id: str) -> Any:
        return sku_answer(web, sku_id, forecast_summary)

    @app.page("/recommendations/{user_id}")
    @by_user
    async def recommendations_view(web: Any, request: Any, user_id: str) -> Any:
        k = int(request.query.get("k", "10"))
        return web.json({"user_id": user_id, "items": users.preference.top_k(user_id, k)})

    return app


def forecast_summary(state: SkuState) -> dict[str, Any]:
    """What the `/forecast/<id>` view shows: the next day's demand, mean and spread, at the price
    shoppers pay now (a running promotion's, if lower) with the click signal, as restock plans
    with it, and its category's yearly factor for that day (included in the mean); and the
    level at the list price."""
    day = None if state.demand.day is None else state.demand.day + 1
    mean, std = state.demand.forecast(day, 1, forecast_factor(state))
    return {
        "sku_id": state.sku_id,
        "day": None if day is None else format_time(day * SECONDS_PER_DAY)[:10],
        "price": state.selling_price,
        "mean_per_day": mean,
        "std_per_day": std,
        "yearly_factor": 1.0 if day is None else state.demand.yearly_factor(day),
        "mean_per_day_at_list_price": state.demand.forecast()[0],
    }


def sku_summary(
    engine: SkuEngine,
    state: SkuState,
    decisions: DecisionLog,
    pools: KeyValueStore | None = None,
) -> dict[str, Any]:
    """What the `/sku/<id>` view shows: price state, stock, estimates and the last decisions
    (from `decisions`); `pools` holds the pooled estimates of the SKU's partition (default: the
    engine's)."""
    list_prices, categories = engine.list_price_error, engine.category_responses
    markups = engine.category_markups
    if pools is not None:
        list_prices = ListPriceError(list_prices.prior, pools)
        categories = CategoryResponses(pools)
        markups = CategoryMarkups(pools)
    # the same reading as price adjustments: the own-price response and the cross elasticity
    response, stderr, cross = priced_response(state, categories)
    return {
        "sku_id": state.sku_id,
        "price": state.price,
        "pricing": pricing_view(state, response, stderr, list_prices, markups),
        "unit_cost": state.unit_cost,
        "competitor_prices": state.competitor_prices,
        "reference_price_30d_min": state.reference_price_30d_min,
        "promotion": state.promo,
        "on_hand": max(state.net_stock, 0),
        "on_order": state.on_order,
        "forecast": {**forecast_summary(state), "history_days": state.demand.n},
        "cycle_service": cycle_service_view(engine, state),
        "elasticity": {
            "estimate": response,
            "stderr": stderr,
            "cross": cross,
            "category_prior": category_prior_view(state, categories),
            "price_spread": price_spread_view(state, engine.config.pricing),
        },
        "clicks": {"per_day": state.clicks.level, "history_days": state.clicks.n},
        "last_decisions": [
            {
                "topic": topic,
                "decision_id": value["decision_id"],
                "occurred_at": value["occurred_at"],
            }
            for topic, value in decisions.last(state.sku_id)
        ],
    }


def price_spread_view(state: SkuState, config: PricingConfig) -> dict[str, float]:
    """How far the SKU's price has spread over its learned days (Σ (ln p − mean)², what
    identifies its price response), those days, and the spread under which pricing explores
    an estimate it does not trust yet (`pricing.spread_to_keep`)."""
    spread, days = state.elasticity.price_spread()
    return {"value": spread, "days": days, "explore_below": spread_to_keep(days, config)}


def category_prior_view(state: SkuState, categories: CategoryResponses) -> dict[str, float] | None:
    """The prior the SKU's category's other SKUs give its price response (mean, standard
    deviation, how many), or None while they are too few."""
    if state.catalog is None:
        return None
    category = state.catalog["category"]
    prior = categories.prior(category, state.category_response)
    if prior is None:
        return None
    others, _ = categories.others(category, state.category_response)
    return {"mean": prior[0], "sd": math.sqrt(prior[1]), "skus": int(others)}


def pricing_view(
    state: SkuState,
    response: float,
    stderr: float,
    list_prices: ListPriceError,
    markups: CategoryMarkups,
) -> dict[str, Any]:
    """What pricing's target starts from (before stock, exploration and guardrails): the list
    price, the anchor (the list price blended with the category's markups' price, the blend's
    error and the list price's share of it), the profit optimum at the estimated price response
    (None unless demand is elastic), the estimate's precision weight against the anchor
    (linearised, the share of the way from one to the other the target takes; exploration
    reads the same weight from the SKU's own standard error), and the list prices' error."""
    cost, sigma = state.unit_cost, list_prices.value()
    anchor = None if state.catalog is None else price_anchor(state, list_prices, markups)
    return {
        "list_price": None if state.catalog is None else state.catalog["list_price"],
        "anchor": None if anchor is None else anchor_fields(anchor),
        "optimum_price": optimum_price(cost, response) if cost and response < -1.0 else None,
        "optimum_weight": optimum_weight(
            response, stderr, sigma if anchor is None else anchor.error
        ),
        "list_price_error": sigma,
    }


def cycle_service_view(engine: SkuEngine, state: SkuState) -> dict[str, Any]:
    """Restock's safety factor z for the SKU and what its realised cycles changed of it: its own
    correction, and its lead time's pooled one as of the SKU's last event (as its restock
    requests report them)."""
    cycles = state.cycles
    return {
        "safety_factor": (
            planned_safety_factor(engine.restock_params(state, cycles.pooled))
            if state.catalog is not None
            else None
        ),
        "z_correction": cycles.offset,
        "lead_time_correction": cycles.pooled,
        **cycles.counts(),
    }


app = create_app(Settings.from_env())
