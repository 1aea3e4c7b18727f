"""The broker's transport (kernel/broker.py): kombu's Redis transport keeping one client a channel for what it
publishes, against the run's real broker."""

import pytest

from kernel.broker import Transport
from maritime.celery import app as celery_app

QUEUE = "kernel-broker-test"


@pytest.fixture
def connection(broker):
    with celery_app.connection_for_write() as conn:
        yield conn


def test_a_redis_broker_is_reached_through_our_transport(connection):
    assert type(connection.transport) is Transport


def test_a_channel_publishes_through_one_client_and_every_message_arrives(connection, broker):
    channel = connection.default_channel
    queue = connection.SimpleQueue(QUEUE)
    with channel.conn_or_acquire() as first:
        pass

    for number in range(3):
        queue.put({"number": number})

    with channel.conn_or_acquire() as later:
        assert later is first
    assert broker.queue_length(QUEUE) == 3  # under the run's key prefix: the transport options still apply
    assert [queue.get(timeout=5).payload["number"] for _ in range(3)] == [0, 1, 2]
    queue.close()


def test_a_channel_whose_pool_kombu_replaced_publishes_through_a_client_of_the_new_pool(connection, broker):
    channel = connection.default_channel
    queue = connection.SimpleQueue(QUEUE)
    queue.put({"number": 1})
    with channel.conn_or_acquire() as before:
        old_pool = before.connection_pool

    channel._disconnect_pools()  # what kombu does when its connection is lost
    queue.put({"number": 2})

    with channel.conn_or_acquire() as after:
        assert after is not before
        assert after.connection_pool is channel.pool is not old_pool
    assert broker.queue_length(QUEUE) == 2
    queue.close()


def test_the_event_loops_client_is_still_kombus_own_one_per_channel(connection):
    channel = connection.default_channel
    with channel.conn_or_acquire() as publishing:
        assert channel.client is not publishing  # BRPOP blocks its connection: never the publishing client's pool
        assert channel.client.connection_pool is channel.async_pool
