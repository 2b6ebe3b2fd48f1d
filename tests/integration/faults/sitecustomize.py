"""Faults injected into the worker processes of the integration tests.

This folder goes on a worker's PYTHONPATH (see `FAULTS` in conftest.py: each fault has a test
marker), and Python imports this module at start-up.

- `REALTIME_MKT_FAULT_FAUST_BUFFER_DELAY=<s>`: Faust's producer buffer waits that long before it
  hands each record on to the producer: what a busy event loop or a slow broker does to it.
  Faust's flush gives up after 0.1 s without progress, so state or outputs left in that buffer
  can miss a commit or a shutdown.
- `REALTIME_MKT_FAULT_SEND_DELAY=<s> <topic> ...`: every record for the named topics (logical
  names, matched as the end of the Kafka topic's) is in flight that long before the producer
  sends it (its delivery, and a producer flush, wait for it), so a worker killed meanwhile dies
  with those records unsent.
- `REALTIME_MKT_FAULT_UNDELIVERED=<topic>`: the producer gives up on the first batch of records
  for that topic (logical name, matched as the end of the Kafka topic's) without sending it,
  as it does after its retries (`producer_request_timeout`) or on an error no retry mends.
- `REALTIME_MKT_FAULT_AGENT_RAISES=<event_id>`: grouping a batch by key raises on the batch
  with that event: a bug outside any one event's processing, which escapes its agent.
"""

import asyncio
import os

_delay = float(os.environ.get("REALTIME_MKT_FAULT_FAUST_BUFFER_DELAY", "0"))
if _delay > 0:
    from faust.transport.producer import ProducerBuffer

    _send_pending = ProducerBuffer._send_pending

    async def _late_send_pending(self, fut):
        await asyncio.sleep(_delay)
        await _send_pending(self, fut)

    ProducerBuffer._send_pending = _late_send_pending

_send_delay, *_delayed_topics = os.environ.get("REALTIME_MKT_FAULT_SEND_DELAY", "0").split()
if float(_send_delay) > 0:
    from faust.transport.drivers.aiokafka import Producer

    _send, _flush = Producer.send, Producer.flush
    _in_flight: set = set()

    async def _late_send(self, topic, *args, **kwargs):
        if not topic.endswith(tuple(_delayed_topics)):
            return await _send(self, topic, *args, **kwargs)
        delivery = asyncio.get_running_loop().create_future()

        async def deliver_later():
            await asyncio.sleep(float(_send_delay))
            try:
                metadata = await (await _send(self, topic, *args, **kwargs))
            except Exception as exc:
                delivery.set_exception(exc)
            else:
                delivery.set_result(metadata)

        task = asyncio.ensure_future(deliver_later())
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)
        return delivery

    async def _flush_with_in_flight(self):
        while _in_flight:  # a flush waits for records in flight, as the producer's own does
            await asyncio.wait(set(_in_flight))
        await _flush(self)

    Producer.send, Producer.flush = _late_send, _flush_with_in_flight

_undelivered = os.environ.get("REALTIME_MKT_FAULT_UNDELIVERED")
if _undelivered:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaTimeoutError

    _send_batch = AIOKafkaProducer.send_batch
    _given_up: list = []

    async def _give_up_once(self, batch, topic, *, partition):
        if _given_up or not topic.endswith(_undelivered):
            return await _send_batch(self, batch, topic, partition=partition)
        _given_up.append(topic)
        delivery = asyncio.get_running_loop().create_future()
        delivery.set_exception(KafkaTimeoutError("batch expired (injected fault)"))
        return delivery

    AIOKafkaProducer.send_batch = _give_up_once

_raises_on = os.environ.get("REALTIME_MKT_FAULT_AGENT_RAISES")
if _raises_on:
    from realtime_mkt.streaming import batches

    _by_key = batches.by_key

    def _raising_by_key(items, field_name):
        items = list(items)
        if any(event.value.get("event_id") == _raises_on for _, event in items):
            raise RuntimeError(f"injected fault on {_raises_on}")
        return _by_key(items, field_name)

    batches.by_key = _raising_by_key
