from django.core.management import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from ferries.demo import seed_network


class Command(BaseCommand):
    help = "Creates the demo ferry network (operators, ports, vessels, routes, fares, sailings). Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Random seed; the same seed gives the same network.")
        parser.add_argument("--days", type=int, default=90, help="Days of sailings from today (default 90).")

    def handle(self, *args, seed: int, days: int, verbosity: int, **options):
        if not 1 <= days <= 366:
            raise CommandError("--days must be between 1 and 366.")

        def progress(items):
            return tqdm(items, desc="Sailings by route", unit="route", disable=verbosity < 1, file=self.stderr)

        added = seed_network(seed=seed, days=days, today=timezone.now().date(), progress=progress)
        summary = ", ".join(f"{count} {kind}" for kind, count in added.items())
        self.stdout.write(self.style.SUCCESS(f"Demo network ready; added {summary}."))
