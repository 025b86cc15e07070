"""kombu's Redis transport, repaired so that a worker survives losing Redis in the middle of a task.

With kombu 5.7.0 and Celery 5.7.0, a worker that loses its Redis connection while it holds an
unacknowledged message (any running task: they all acknowledge late) exits with
`AttributeError: 'NoneType' object has no attribute 'hostname'`:

1. Celery's consumer first collects the broken connection (`Connection.collect`). Closing the
   task channel there fails on the dead socket (it was waiting for a BRPOP reply), so the
   channel stays open and keeps its unacknowledged message, and the transport then drops its
   reference to the connection (`transport.client = None`).
2. Celery then closes the connection. The channel's second close tries to put its message back
   in the queue, which needs a Redis client, so it builds a connection pool from
   `transport.client`, now None. The AttributeError is not one of the connection errors Celery
   ignores while reconnecting: "Unrecoverable error", and the worker shuts down as soon as its
   running tasks end.

Here a channel whose connection is gone raises a Redis ConnectionError instead, which every
caller handles as the lost connection it is: the worker reconnects (broker_connection_retry),
and the acknowledgement of a task that finishes afterwards is logged as impossible ("Couldn't
ack"). Such a message stays in Redis's unacked set if Redis kept it, and is delivered again
after the visibility timeout (every task may run twice); if Redis restarted empty it is gone,
like everything that was queued (see the README: the periodic ticks find the work again).
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:
            raise RedisConnectionError(
                "this channel's broker connection is closed; the worker reconnects"
            )
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
