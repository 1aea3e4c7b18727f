import datetime as dt
import re

from django.core.management import BaseCommand, CommandError

from ferries.cache import cache_service


class Command(BaseCommand):
    help = "Removes cached ferry searches (all, or one route and/or date) and prints how many entries went."

    def add_arguments(self, parser):
        parser.add_argument("--route", metavar="FROM-TO", help="Only searches of this route, e.g. TNTUN-FRMRS.")
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="Only searches for sailings on this date.")

    def handle(self, *args, route: str | None, date: str | None, **options):
        # An empty value is refused, not read as "all": `--route "$ROUTE"` with ROUTE unset must not clear everything.
        if route is not None and not re.fullmatch(r"[A-Za-z0-9]{5}-[A-Za-z0-9]{5}", route):
            raise CommandError(f"--route must be two port codes joined by a dash, e.g. TNTUN-FRMRS; got {route!r}.")
        if date is not None:
            try:
                # Spelled as the cache's keys spell it: Python also reads 20270714 or 2027-W28-3 as dates.
                date = dt.date.fromisoformat(date).isoformat()
            except ValueError:
                raise CommandError(f"--date must be a date as YYYY-MM-DD; got {date!r}.") from None
        removed = cache_service.clear_ferry_searches(route=route, date=date)
        scope = " ".join(part for part in (route and route.upper(), date) if part) or "all routes and dates"
        self.stdout.write(f"Removed {removed} cached search{'es' if removed != 1 else ''} ({scope}).")
