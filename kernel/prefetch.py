"""Rows just written or read some other way, kept on an instance as `prefetch_related` keeps what it reads."""


def keep_prefetched(instance, relation: str, objects) -> None:
    """`instance.<relation>.all()` answers `objects`, in this order, without a query (as after a prefetch)."""
    queryset = getattr(instance, relation).all()
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[relation] = queryset
