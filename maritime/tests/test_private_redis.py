"""A test's own Redis (conftest.PrivateRedis) is its own: a test counts, stops and flushes it, so it must never be
another server that took its port between the port being found free and the server binding it."""

import pytest
import redis

from conftest import PrivateRedis, free_port


def serve(port: int, folder) -> PrivateRedis:
    """Another Redis server on `port` (free), answering once this returns."""
    other = PrivateRedis(folder)
    other.port, other.url = port, f"redis://127.0.0.1:{port}/0"
    other.start()
    assert other.port == port
    return other


@pytest.fixture
def other_server(tmp_path):
    """Another Redis server, on a port of its own."""
    other = serve(free_port(), tmp_path)
    yield other.port, other.process
    other.stop()


def test_a_private_redis_whose_port_another_server_took_starts_on_a_free_one(tmp_path, other_server):
    taken, other = other_server
    private = PrivateRedis(tmp_path)
    private.port, private.url = taken, f"redis://127.0.0.1:{taken}/0"  # as if the other had bound it meanwhile
    try:
        private.start()
        client = redis.Redis.from_url(private.url)
        served_by = client.info("server")["process_id"]
        client.close()
    finally:
        private.stop()

    assert private.port != taken
    assert private.url == f"redis://127.0.0.1:{private.port}/0"
    assert served_by == private.process.pid != other.pid


def test_a_private_redis_started_again_keeps_its_port_or_fails(tmp_path):
    private = PrivateRedis(tmp_path)
    private.start()
    port = private.port
    private.stop()
    private.start()  # its port still free: the same
    assert private.port == port
    private.stop()

    squatter = serve(port, tmp_path)
    try:
        with pytest.raises(RuntimeError, match=f"port {port} was taken"):
            private.start()
    finally:
        squatter.stop()
        private.stop()
