"""Health probe for containers: GET a local URL, exit 0 when the process answers healthy, 1 otherwise.

docker-compose.yml runs it as the web and Flower healthchecks (the image has no curl). Standard library
only, and no Django: a probe must stay cheap and must not depend on what it probes.

    python deploy/probe.py http://127.0.0.1:8000/healthz --tolerate cache,broker
    python deploy/probe.py http://127.0.0.1:5555/healthcheck

The request names the first host of ALLOWED_HOSTS in its Host header, so that Django serves it instead of
refusing an unknown host. A 200 is healthy. /healthz answers 503 with the parts that are down
(`"failing": ["cache"]`); with --tolerate, a 503 whose failing parts are all tolerated counts as healthy,
since the process itself is serving and restarting it would not bring those parts back.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def host_header(allowed_hosts: str) -> str | None:
    """The first concrete host of ALLOWED_HOSTS ('.example.com' gives 'example.com'; '*' gives nothing)."""
    for host in allowed_hosts.split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return None


def probe(url: str, tolerate: frozenset[str] = frozenset(), timeout: float = 5.0) -> tuple[bool, str]:
    """(healthy, what was seen)."""
    headers = {}
    if host := host_header(os.environ.get("ALLOWED_HOSTS", "")):
        headers["Host"] = host
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return True, f"{response.status} from {url}"
    except urllib.error.HTTPError as exc:
        if exc.code == 503 and tolerate:
            failing = _failing_parts(exc.read())
            if failing and failing <= tolerate:
                return True, f"503 from {url}, tolerated: {', '.join(sorted(failing))} down"
        return False, f"{exc.code} from {url}"
    except OSError as exc:  # refused, reset, timed out (URLError and TimeoutError are OSErrors)
        return False, f"{url}: {type(exc).__name__}: {exc}"


def _failing_parts(body: bytes) -> frozenset[str]:
    try:
        failing = json.loads(body).get("failing")
    except (ValueError, AttributeError):
        return frozenset()
    return frozenset(failing) if isinstance(failing, list) else frozenset()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--tolerate", default="", help="comma-separated parts that may be down (503 'failing')")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer")
    args = parser.parse_args(argv)
    tolerate = frozenset(part.strip() for part in args.tolerate.split(",") if part.strip())
    healthy, seen = probe(args.url, tolerate, args.timeout)
    print(("healthy: " if healthy else "unhealthy: ") + seen)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
