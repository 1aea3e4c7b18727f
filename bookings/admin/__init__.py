"""Bookings in the admin: the list and page of a booking with its actions (bookings), and the sailings' admin with
the action that cancels a sailing and its bookings (sailings)."""

from bookings.admin import bookings, compensations, promotions, sailings  # noqa: F401 (they register the admin classes)
