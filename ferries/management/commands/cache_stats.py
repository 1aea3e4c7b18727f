import json

from django.core.management import BaseCommand

from ferries.cache import cache_service


class Command(BaseCommand):
    help = "Prints the ferry cache's figures: entries, lookups, hits, misses and hit rate."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON instead of a table.")
        parser.add_argument("--reset", action="store_true", help="Set the hit and miss counters back to zero.")

    def handle(self, *args, as_json: bool, reset: bool, **options):
        figures = cache_service.stats()
        if as_json:
            self.stdout.write(json.dumps(figures, indent=2))
        else:
            self.stdout.write(f"{'':<14}{'entries':>9}{'lookups':>10}{'hits':>10}{'misses':>10}{'hit rate':>10}")
            for kind, row in figures.items():
                rate = "—" if row["hit_rate"] is None else f"{row['hit_rate']:.1%}"
                self.stdout.write(
                    f"{kind:<14}{row['entries']:>9}{row['lookups']:>10}{row['hits']:>10}{row['misses']:>10}{rate:>10}"
                )
        if reset:
            cache_service.reset_stats()
            self.stdout.write("Counters reset.")
