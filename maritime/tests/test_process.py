"""This process's id and unique tokens without a system call at each ask (kernel/process.py)."""

import multiprocessing
import os

from kernel import process


def test_the_pid_is_this_processs():
    assert process.pid() == os.getpid()


def test_tokens_are_never_the_same_twice():
    tokens = {process.unique() for _ in range(10_000)}

    assert len(tokens) == 10_000


def _child(queue) -> None:
    queue.put((process.pid(), os.getpid(), process.unique()))


def test_a_forked_child_has_its_own_pid_and_tokens_unlike_its_parents():
    mine = process.unique()
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_child, args=(queue,))
    child.start()
    pid, real_pid, token = queue.get(timeout=10)
    child.join(10)

    assert child.exitcode == 0
    assert pid == real_pid != os.getpid()
    assert token.split(".")[0] != mine.split(".")[0]  # a prefix of its own: the count starting again repeats nothing
    assert process.pid() == os.getpid()  # the parent's own, untouched
