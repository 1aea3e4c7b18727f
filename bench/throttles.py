"""Our rate limits (kernel/throttling.py) against DRF's stock throttles over django-redis, on the same requests.

    REDIS_URL=redis://127.0.0.1:6379/14 python bench/throttles.py [--rounds 15] [--requests 1000]

Not part of `make bench`: it needs only Redis, and answers one question, whether our throttle is worth keeping.
In one process, on the real Redis, the two sides alternate round after round (A B, B A, …), each round a warm-up
of its own then `--requests` requests, every request from one of 100 addresses new to that round (so every limit
allows it and each window holds a few requests, as in normal traffic). A request is what DRF's `check_throttles`
does: the view's throttles made, then each asked `allow_request`. Printed: the median over rounds of the µs per
request, and the Redis round trips per request (counted at redis-py's `execute_command`).

Two views: search (the API's defaults, `anon` and `user`) and booking (those and `booking_create`).
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class View:
    def __init__(self, throttles):
        self.throttles = throttles

    def get_throttles(self):
        return self.throttles


def sides():
    from rest_framework import throttling as stock

    from kernel import throttling as ours

    class StockBooking(stock.UserRateThrottle):
        scope = "booking_create"

    return {
        "search": {
            "ours": [ours.AnonThrottle, ours.UserThrottle],
            "stock": [stock.AnonRateThrottle, stock.UserRateThrottle],
        },
        "booking": {
            "ours": [ours.AnonThrottle, ours.UserThrottle, ours.BookingCreateThrottle],
            "stock": [stock.AnonRateThrottle, stock.UserRateThrottle, StockBooking],
        },
    }


def one_round(classes, requests: int, tag: str) -> float:
    """Seconds per request, over `requests` requests from 100 addresses not seen before."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    factory = RequestFactory()
    made = []
    for i in range(requests):
        request = factory.post("/api/v1/bookings", REMOTE_ADDR=f"10.{tag}.0.{i % 100}")
        request.user = AnonymousUser()
        made.append(request)
    started = time.perf_counter()
    for request in made:
        view = View([throttle() for throttle in classes])
        for throttle in view.throttles:
            if not throttle.allow_request(request, view):
                raise SystemExit(f"{throttle.scope} refused a request: the rates are too low for this benchmark")
    return (time.perf_counter() - started) / requests


class RoundTrips:
    """Counts the commands redis-py sends one by one (a pipeline's commands are sent by `execute`, counted once)."""

    def __enter__(self):
        import redis

        self.count, self.original = 0, redis.Redis.execute_command
        counter = self

        def counted(client, *args, **kwargs):
            counter.count += 1
            return counter.original(client, *args, **kwargs)

        redis.Redis.execute_command = counted
        return self

    def __exit__(self, *exc):
        import redis

        redis.Redis.execute_command = self.original


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maritime.settings")
    os.environ.setdefault("DEBUG", "1")
    prefix = os.environ["CACHE_KEY_PREFIX"] = f"bench-throttles-{uuid.uuid4().hex[:8]}"
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("REDIS_URL: the throttles are measured on the real Redis")
    # Rates high enough that every request is allowed: the cost of counting, not of refusing, is measured.
    for name in ("API_RATE_ANON", "API_RATE_USER", "API_RATE_BOOKING_CREATE"):
        os.environ[name] = "100000/hour"
    import django

    django.setup()
    from django_redis import get_redis_connection

    try:
        for view, both in sides().items():
            for name, classes in both.items():
                with RoundTrips() as trips:
                    one_round(classes, 100, f"{len(name)}0")
                print(f"{view:8} {name:6} round trips per request: {trips.count / 100:g}")
            times = {name: [] for name in both}
            for n in range(args.rounds):
                order = list(both) if n % 2 == 0 else list(reversed(both))
                for name in order:
                    one_round(both[name], 200, f"{100 + n}")  # warm-up
                    times[name].append(one_round(both[name], args.requests, f"{n + 1}"))
            medians = {name: statistics.median(values) * 1e6 for name, values in times.items()}
            spread = {name: f"{min(v) * 1e6:.0f}–{max(v) * 1e6:.0f}" for name, v in times.items()}
            for name, median in medians.items():
                print(f"{view:8} {name:6} µs per request: median {median:.0f} (rounds {spread[name]})")
            print(f"{view:8} stock / ours: {medians['stock'] / medians['ours']:.2f}")
    finally:
        client = get_redis_connection("default")
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


if __name__ == "__main__":
    main()
