"""The README and docs/ describe the project as it is: the two commands and the walk-through first, every link leads
to a file, every reference page is reachable from the README, and what the walk-through names (test cards, ports)
and the configuration reference lists (variables) are the code's own."""

import re
import tomllib

from django.conf import settings

from ferries.demo_network import PORTS
from payments.demo import TEST_CARDS

ROOT = settings.BASE_DIR
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# A Markdown link or image: its target, without any #anchor.
LINK = re.compile(r"\]\(<?([^)\s#>]+)[^)]*\)")
# What maritime/settings.py reads from the environment: env.str("NAME"…), env.bool("NAME"…), env.dj_db_url("NAME"…)…
SETTINGS_VARIABLE = re.compile(r'\benv\.[a-z_]+\(\s*"([A-Z][A-Z0-9_]+)"')
# Port codes as the walk-through names them: in a search's address, and in its table of routes.
SEARCHED_PORT = re.compile(r"[?&](?:from|to)=([^&>\s)]*)")
TABLED_PORT = re.compile(r"`([A-Z]{2}[A-Z2-9]{3})`")


def documents() -> list:
    return [README, *sorted(DOCS.glob("*.md"))]


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_begins_with_the_two_commands_then_the_walk_through():
    text = README.read_text(encoding="utf-8")
    assert re.findall(r"^## (.+)$", text, flags=re.MULTILINE)[:2] == ["The two commands", "Try it"]
    commands = section(text, "The two commands")
    assert "make run" in commands
    assert "make test" in commands


def test_every_relative_link_of_the_readme_and_the_docs_leads_to_a_file():
    broken = [
        f"{document.relative_to(ROOT)}: {target}"
        for document in documents()
        for target in LINK.findall(document.read_text(encoding="utf-8"))
        if not re.match(r"[a-z]+:", target) and not (document.parent / target).exists()
    ]
    assert broken == []


def test_every_page_of_the_docs_is_linked_from_the_readme():
    linked = {(ROOT / target).resolve() for target in LINK.findall(README.read_text(encoding="utf-8"))}
    pages = {page.resolve() for page in DOCS.glob("*.md")}
    assert pages, "docs/ has no page"
    assert sorted(str(page.relative_to(ROOT)) for page in pages - linked) == []


def test_the_walk_through_lists_every_demo_test_card_and_names_only_ports_of_the_demo_network():
    try_it = section(README.read_text(encoding="utf-8"), "Try it")
    spaced = [" ".join(number[i : i + 4] for i in range(0, len(number), 4)) for number in TEST_CARDS]
    assert [number for number in spaced if number not in try_it] == []
    named = set(SEARCHED_PORT.findall(try_it))
    named |= {code for line in try_it.splitlines() if line.startswith("|") for code in TABLED_PORT.findall(line)}
    assert {"ESALG", "MAPTM"} <= named
    assert sorted(named - {code for code, _name, _country, _zone in PORTS}) == []


def test_every_variable_the_settings_read_is_in_the_configuration_reference():
    read = set(SETTINGS_VARIABLE.findall((ROOT / "maritime" / "settings.py").read_text(encoding="utf-8")))
    assert {"DEBUG", "SITE_URL", "STRIPE_WEBHOOK_SECRET", "RATE_BOOKING_LOOKUP"} <= read
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (DOCS / "configuration.md").read_text(encoding="utf-8")))
    assert sorted(read - documented) == []


def test_the_layout_names_every_flow_and_the_layers_the_contracts_check():
    """The README's "How the code is laid out" and docs/architecture.md say what the code is, and the import-linter
    contracts check the same layers."""
    readme, architecture = (ROOT / "README.md").read_text(), (ROOT / "docs/architecture.md").read_text()
    layout = section(readme, "How the code is laid out")
    flows = {path.stem for path in (ROOT / "bookings/flows").glob("*.py")} - {"__init__", "common"}
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = " ".join(next(c for c in contracts if c["type"] == "layers")["layers"])

    assert {flow for flow in flows if f"`{flow}`" not in architecture} == set()
    assert all(
        f"{app}`" in layout or f"`{app}" in layout for app in ("ferries", "bookings", "payments", "notifications")
    )
    named = ("views", "api", "admin", "flows", "services", "selectors", "tasks", "models")
    assert [layer for layer in named if layer not in layout or f"({layer})" not in layers] == []
