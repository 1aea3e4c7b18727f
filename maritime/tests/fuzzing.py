"""How our fuzz tests run schemathesis and Hypothesis: repeatable (fixed seed, derandomised, no example database),
no time limit per example, every check schemathesis has."""

import schemathesis
from hypothesis import HealthCheck, settings


def hypothesis_settings(*, max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


def fuzzed_schema(document: dict, *, max_examples: int, credentials: bool, **phases) -> schemathesis.BaseSchema:
    """`document` (an OpenAPI document) as schemathesis fuzzes it: `credentials` made up as it describes them or
    left to the test; `phases` turn schemathesis' phases (examples, coverage, fuzzing, stateful) on or off."""
    config = {
        "seed": 2026,
        "generation": {
            "max-examples": max_examples,
            "deterministic": True,
            "database": "none",
            "with-security-parameters": credentials,
        },
        "phases": phases,
        "checks": {"enabled": True},
    }
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(config))
