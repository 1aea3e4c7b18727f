"""The ferry network in the admin: operators, ports, vessels, routes and sailings (network), and fares (fares)."""

from ferries.admin import fares, network  # noqa: F401 (they register the admin classes)
from ferries.admin.network import local_time

__all__ = ["local_time"]
