"""Faults injected into the worker processes of the integration tests.

This folder goes on a worker's PYTHONPATH (see the `faust_buffer_delay` marker in conftest.py),
and Python imports this module at start-up. With `REALTIME_MKT_FAULT_FAUST_BUFFER_DELAY=<s>`,
Faust's producer buffer waits that long before it hands each record on to the producer: what a
busy event loop or a slow broker does to it. Faust's flush gives up after 0.1 s without
progress, so state or outputs left in that buffer can miss a commit or a shutdown.
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
