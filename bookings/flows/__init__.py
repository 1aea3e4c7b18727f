"""Flows that span apps, written once: the only place that knows each whole sequence, one module per flow.

Interfaces (views, the API, the admin, commands, tasks) call these; these call each app's services and selectors
and enqueue tasks. Locks are taken in one order everywhere: the booking's row, then its payment's, then its
refund's (`common.locked_booking_of`).
"""
