"""This process's id and unique tokens without a system call at each ask (kernel/process.py)."""

import multiprocessing
import os

from kernel import process
from maritime.tests.test_settings import manage


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


FROZEN_BY_A_WEB_WORKER = """
import gc, sys
import maritime.wsgi
print(gc.get_freeze_count(), 'ferries.views' in sys.modules, 'payments.views' in sys.modules)
"""

FROZEN_BY_A_CELERY_WORKER = """
import gc
from celery.signals import worker_init
from maritime.celery import app
assert gc.get_freeze_count() == 0
worker_init.send(sender=None)  # as the worker's main process does before its pool forks
print(gc.get_freeze_count(), 'fpdf' in __import__('sys').modules)
"""


def _python(code: str, tmp_path) -> list[str]:
    """What `code` prints, run by `manage.py shell` on the embedded default."""
    result = manage("shell", "-v", "0", "-c", code, env={"MARITIME_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_a_web_worker_loads_its_views_then_leaves_what_it_loaded_out_of_garbage_collections(tmp_path):
    frozen, views, payments = _python(FROZEN_BY_A_WEB_WORKER, tmp_path)

    assert int(frozen) > 50_000  # Django, the apps and their libraries: walked by no later collection
    assert views == payments == "True"  # the URLconf's views were loaded first


def test_a_celery_worker_leaves_what_it_loaded_out_of_garbage_collections_before_its_pool_forks(tmp_path):
    frozen, pdf_library = _python(FROZEN_BY_A_CELERY_WORKER, tmp_path)

    assert int(frozen) > 50_000
    assert pdf_library == "True"  # imported for the e-tickets before the freeze


def test_heap_frozen_answers_the_objects_left_out_and_what_is_made_later_is_still_collected():
    import gc
    import weakref

    class Node:
        pass

    try:
        gc.unfreeze()
        frozen = process.heap_frozen()
        now = gc.get_freeze_count()
        # A frozen object freed since (a temporary of the call, another thread's) leaves the count; none joins it.
        assert 0 < now <= frozen < now + 100
        node = Node()
        node.cycle = node  # garbage only a collection frees
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
