"""Round trips on a connection each thread keeps (kernel/redis_lane.py), against the real Redis of the cache."""

import multiprocessing
import select
import socket
import struct
import threading
import time

import pytest
import redis
from django.core.cache import cache
from django_redis import get_redis_connection

from kernel import redis_lane


@pytest.fixture
def client():
    return get_redis_connection("default")


def kept_socket(client):
    """This thread's kept connection's socket, looked at without touching the connection."""
    return redis_lane._kept.lanes[id(client.connection_pool)].connection._sock


def client_id(client) -> int:
    return redis_lane.round_trip(client, [("CLIENT", "ID")])[0]


def closed_in_redis(client, connection_id: int, *, within: float = 5.0) -> bool:
    """Whether Redis lists the connection `connection_id` no more, asked until it does (`within` seconds at most)."""
    deadline = time.monotonic() + within
    while client.execute_command("CLIENT", "LIST", "ID", connection_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_thread_keeps_one_connection_and_another_thread_has_its_own(client):
    mine = {client_id(client), client_id(client)}
    theirs = []
    other = threading.Thread(target=lambda: theirs.append(client_id(client)))
    other.start()
    other.join()

    assert len(mine) == 1
    assert len(theirs) == 1
    assert theirs[0] not in mine
    assert client_id(client) in mine  # still the same after the other thread's


def test_commands_go_in_one_write_their_answers_parsed_as_the_client_parses_them(client):
    key = cache.make_key("lane:counter")
    client.delete(key)

    answers = redis_lane.round_trip(
        client, [("SET", key, 5, "NX"), ("INCRBY", key, 2), ("GET", key), ("SET", key, 1, "NX")]
    )

    assert answers == [True, 7, b"7", None]  # SET parsed to True as redis-py does; NX refused: None


def test_an_error_reply_is_given_not_raised_and_the_connection_stays_in_step(client):
    key = cache.make_key("lane:list")
    client.delete(key)
    client.rpush(key, "a")

    answers = redis_lane.round_trip(client, [("INCR", key), ("LLEN", key)])  # INCR on a list: WRONGTYPE

    assert isinstance(answers[0], redis.ResponseError)
    assert "WRONGTYPE" in str(answers[0])
    assert answers[1] == 1
    assert redis_lane.round_trip(client, [("LINDEX", key, 0)]) == [b"a"]


def test_a_connection_redis_closed_is_made_again_before_it_is_written_to(client):
    before = client_id(client)
    client.client_kill_filter(_id=before)  # as a restart or an idle timeout would

    after = client_id(client)

    assert after != before
    assert redis_lane.round_trip(client, [("PING",)]) == [True]


def test_a_round_trip_that_fails_midway_drops_the_connection_so_no_late_answer_is_read_as_the_next(client):
    key = cache.make_key("lane:late")
    client.delete(key)
    before = client_id(client)

    with pytest.raises(redis.TimeoutError):
        redis_lane.round_trip(client, [("BLPOP", key, 2)])  # longer than the socket's timeout (0.5 s)
    client.rpush(key, "late")  # would answer the BLPOP, were the connection kept

    assert redis_lane.round_trip(client, [("LLEN", key)]) == [1]  # the item is still there: nobody popped it
    assert client_id(client) != before


def test_a_script_redis_forgot_is_sent_whole_and_runs_once(client, monkeypatch):
    key = cache.make_key("lane:script")
    client.delete(key)
    script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    redis_lane.run_script(client, script, [key], [2])
    monkeypatch.setattr(script, "sha", "0" * 40)  # a digest Redis does not know, as after a restart

    answers = redis_lane.with_scripts(client, [("GET", key)], [(script, [key], [3])])

    assert answers == ([b"2"], [5])
    assert client.get(key) == b"5"


def test_an_error_reply_of_a_script_is_raised_once_every_answer_is_read(client):
    key = cache.make_key("lane:failing")
    client.delete(key)
    script = client.register_script("return redis.call('LPUSH', KEYS[1], 'x') + redis.call('INCR', KEYS[1])")

    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        redis_lane.with_scripts(client, [("PING",)], [(script, [key], [])])

    assert redis_lane.round_trip(client, [("LLEN", key)]) == [1]  # the script's first write stands (Redis's rule)


def test_a_command_sent_alone_is_answered_with_the_next_round_trip_which_stays_in_step(client):
    key = cache.make_key("lane:alone")
    client.delete(key)
    before = client_id(client)
    answered = []

    redis_lane.send(client, [("INCRBY", key, 3), ("INCRBY", key, 4)], answered.append)
    assert redis_lane.pending()
    assert redis_lane.owed(client) == 2
    assert answered == []  # nothing waited for
    assert select.select([kept_socket(client)], [], [], 5)[0]  # the answers have come: the socket is readable

    assert redis_lane.round_trip(client, [("GET", key)]) == [b"7"]  # its own answer, not the ones sent alone
    assert answered == [3, 7]
    assert redis_lane.owed(client) == 0
    assert client_id(client) == before  # answers waiting on the socket are not taken for a closed connection


def test_answers_owed_on_a_connection_redis_closed_do_not_fail_the_next_round_trip(client):
    before = client_id(client)
    redis_lane.send(client, [("PING",)], lambda _answer: None)
    client.client_kill_filter(_id=before)  # as a restart would, the answer owed or not
    assert select.select([kept_socket(client)], [], [], 5)[0]

    assert redis_lane.round_trip(client, [("ECHO", "after")]) == [b"after"]
    assert client_id(client) != before
    assert redis_lane.owed(client) == 0


def test_abandoning_closes_a_connection_that_owes_answers_without_waiting_for_them(client):
    key = cache.make_key("lane:abandoned")
    client.delete(key)
    before = client_id(client)
    answered = []
    redis_lane.send(client, [("BLPOP", key, 2)], answered.append)  # would answer only in two seconds

    redis_lane.abandon()
    # Redis sees the connection closed at its next turn, not at once: pushed before that, the BLPOP would still pop it.
    assert closed_in_redis(client, before)
    client.rpush(key, "late")

    assert redis_lane.owed(client) == 0
    assert not redis_lane.pending()
    assert redis_lane.round_trip(client, [("LLEN", key)]) == [1]  # nobody popped it: that BLPOP's connection is gone
    assert client_id(client) != before
    assert answered == []


def test_settle_reads_what_was_sent_alone_errors_included(client):
    key = cache.make_key("lane:settled")
    client.delete(key)
    client.rpush(key, "a")
    answered = []

    redis_lane.send(client, [("INCR", key), ("LLEN", key)], answered.append)  # INCR on a list: WRONGTYPE
    redis_lane.settle()

    assert redis_lane.owed(client) == 0
    assert isinstance(answered[0], redis.ResponseError)
    assert "WRONGTYPE" in str(answered[0])
    assert answered[1] == 1
    assert redis_lane.round_trip(client, [("LINDEX", key, 0)]) == [b"a"]


def test_what_handling_an_answer_raises_is_logged_not_raised_to_the_round_trip_that_read_it(client, caplog):
    def failing(_answer):
        raise ValueError("cannot handle it")

    redis_lane.send(client, [("PING",)], failing)

    assert redis_lane.round_trip(client, [("ECHO", "mine")]) == [b"mine"]
    assert "could not be handled" in caplog.text
    assert "cannot handle it" in caplog.text


def test_a_read_past_the_socket_timeout_of_what_was_sent_alone_drops_the_connection(client):
    key = cache.make_key("lane:alone-late")
    client.delete(key)
    before = client_id(client)

    redis_lane.send(client, [("BLPOP", key, 2)], lambda _answer: None)  # longer than the socket's timeout (0.5 s)
    with pytest.raises(redis.TimeoutError):
        redis_lane.settle()
    client.rpush(key, "late")

    assert redis_lane.round_trip(client, [("LLEN", key)]) == [1]
    assert client_id(client) != before
    assert redis_lane.owed(client) == 0


def test_a_kept_connection_blocks_its_timeout_kept_by_the_kernel(client):
    redis_lane.round_trip(client, [("PING",)])
    sock = kept_socket(client)

    assert sock.gettimeout() is None  # no poll before each send and read
    seconds, micro = struct.unpack("ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
    assert seconds + micro / 1e6 == pytest.approx(client.connection_pool.connection_kwargs["socket_timeout"])


def in_forked_child(target) -> object:
    """What `target(queue)` puts on its queue, run in a child forked from this thread; the child must exit cleanly."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=target, args=(queue,))
    child.start()
    found = queue.get(timeout=10)
    child.join(10)
    assert child.exitcode == 0
    return found


def _child_settles(queue) -> None:
    queue.put((redis_lane.pending(), redis_lane.owed(get_redis_connection("default"))))
    redis_lane.settle()  # nothing of its own to read: the parent's answers are left to the parent


def test_a_forked_child_neither_owes_nor_reads_what_its_parent_sent_alone(client):
    key = cache.make_key("lane:parent")
    client.delete(key)
    answered = []
    redis_lane.send(client, [("INCRBY", key, 5)], answered.append)

    assert in_forked_child(_child_settles) == (False, 0)
    assert redis_lane.round_trip(client, [("GET", key)]) == [b"5"]  # the parent's connection in step
    assert answered == [5]


def _child_id(queue) -> None:
    queue.put(client_id(get_redis_connection("default")))


def test_a_forked_process_makes_its_own_connection(client):
    mine = client_id(client)

    assert in_forked_child(_child_id) != mine
    assert client_id(client) == mine  # the parent's connection is untouched by the child
