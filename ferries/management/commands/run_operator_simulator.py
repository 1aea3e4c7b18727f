from django.core.management import BaseCommand, CommandError

from ferries.operators.simulator import OperatorSimulator, make_server

# Ten minutes: far past any operator timeout, and a delay every request can actually sleep for.
MAX_LATENCY_MS = 600_000


class Command(BaseCommand):
    help = (
        "Serves operators' JSON APIs from the local inventory, with latency and errors on demand. "
        "Point an operator at it with OPERATOR_API_URLS=CODE=http://HOST:PORT/CODE."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--latency-ms", type=int, default=0, help="Delay before every answer (milliseconds).")
        parser.add_argument("--error-rate", type=float, default=0.0, help="Share of requests answered 503 (0 to 1).")
        parser.add_argument("--fail-first", type=int, default=0, help="Answer the first N requests with 503.")
        parser.add_argument("--seed", type=int, default=None, help="Seed for the errors, to replay a run.")
        parser.add_argument("--verbose-requests", action="store_true", help="Log every request.")

    def handle(self, *args, host, port, latency_ms, error_rate, fail_first, seed, verbose_requests, **options):
        if not 0 <= error_rate <= 1:
            raise CommandError(f"--error-rate must be between 0 and 1; got {error_rate}.")
        if not 0 <= latency_ms <= MAX_LATENCY_MS:
            raise CommandError(f"--latency-ms must be between 0 and {MAX_LATENCY_MS}; got {latency_ms}.")
        if fail_first < 0:
            raise CommandError(f"--fail-first must be 0 or more; got {fail_first}.")
        if not 0 <= port <= 65535:
            raise CommandError(f"--port must be between 0 and 65535; got {port}.")
        app = OperatorSimulator(latency=latency_ms / 1000, error_rate=error_rate, fail_first=fail_first, seed=seed)
        try:
            server = make_server(app, host, port, quiet=not verbose_requests)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
        self.stdout.write(
            f"Operator simulator on http://{host}:{server.server_port}/<OPERATOR CODE>/v1/ "
            f"(latency {latency_ms} ms, error rate {error_rate:.0%}). Ctrl-C to stop."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
