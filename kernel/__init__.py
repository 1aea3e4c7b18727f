"""What every app shares and no app owns: money, API error helpers, queueing, rate limits, logging, the CSP.

The kernel imports no app (ferries, bookings, payments, notifications) and not the project (maritime): the apps
and the project import it.
"""
