"""Errors of payments that a task retries."""


class EventNotYetResolved(Exception):
    """A Stripe event about an object not known yet: tried again shortly (a bounded number of times, by the flow)."""
