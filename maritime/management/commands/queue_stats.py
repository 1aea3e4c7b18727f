import json

from django.core.management import BaseCommand, CommandError

from maritime.operations import BrokerUnavailable, queue_figures


class Command(BaseCommand):
    help = "Prints each queue's length and how long its oldest task has waited, read from the broker."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON instead of a table.")

    def handle(self, *args, as_json: bool, **options):
        try:
            figures = queue_figures()
        except BrokerUnavailable as exc:
            raise CommandError(f"{exc} — is the broker's Redis running (CELERY_BROKER_URL)?") from None
        if as_json:
            self.stdout.write(json.dumps(figures, indent=2))
            return
        self.stdout.write(f"{'queue':<10}{'length':>8}  oldest waiting")
        for queue, figure in figures.items():
            self.stdout.write(f"{queue:<10}{figure['length']:>8}  {_oldest(figure)}")
        if any(figure.get("mode") == "eager" for figure in figures.values()):
            self.stdout.write("No broker is configured: tasks run eagerly in the web process and nothing queues.")


def _oldest(figure: dict) -> str:
    if figure.get("mode") == "eager":
        return "eager"
    age = figure["oldest_age_seconds"]
    if age is None:
        return "—" if figure["length"] == 0 else "unknown (sent without a publishing time)"
    minutes, seconds = divmod(int(age), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"
