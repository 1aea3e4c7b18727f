"""Celery's Redis transport, keeping one Redis client per channel for the commands it sends and waits on.

kombu's Redis channel makes a new redis-py client for every command it sends outside its event loop — every
publish among them — and a client's construction (its table of response callbacks) costs a request that queues a
task 65–95 µs of CPU, a sixth of the whole publish. This channel keeps the client it made, on the same connection
pool (a client takes a connection from its pool for each command and gives it back, so threads may share it), and
makes a new one when kombu has replaced the pool (after a lost connection). The event loop's client, the
consumer's, is kombu's own.

Set for `redis://` brokers (settings.CELERY_BROKER_TRANSPORT); others, `rediss://` among them, keep kombu's own
transport, whose scheme also decides its TLS defaults.
"""

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _kept_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._kept_client
        if client is None or client.connection_pool is not self.pool:
            client = self._kept_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
