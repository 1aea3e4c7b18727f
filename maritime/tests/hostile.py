"""What a careless or hostile client may put in any field, for property-based tests of every form (Hypothesis),
and how those tests tell that nothing was written."""

from django.apps import apps
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Values that have broken web forms before: empty and blank, NUL and other control characters, numbers of every
# spelling (exponents, signs, other scripts' digits, superscripts), impossible dates, markup and template syntax,
# SQL, paths, bidirectional overrides and byte-order marks.
TRICKY = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\t\r\n",
    "-1",
    "-0",
    "0",
    "00",
    "1e9",
    "1_000",
    "0x1F",
    "9" * 40,
    "NaN",
    "inf",
    "１２",
    "²",
    "٣",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "31/12/2026",
    "../../etc/passwd",
    "%00",
    "%2e%2e/",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7|add:7 }}",
    "{% debug %}",
    "' OR 1=1 --",
    "None",
    "null",
    "true",
    "[]",
    "{}",
    "\u202etxt.exe",
    "\ufeffTN",
    "ÄÖÜÉÈ",
    "Ὀδυσσεύς",
    "🚢",
    "ﬀ",
]

# Any character a browser can send (everything UTF-8 can encode, NUL included), and sizes far past any field's.
hostile_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.integers().map(str),
    st.integers(min_value=300, max_value=20_000).map(lambda n: "9" * n),
    st.integers(min_value=300, max_value=20_000).map(lambda n: "Ä\x00<" * (n // 3)),
)


def hostile_form(names, *, min_size: int = 1):
    """Some of the form's fields, each with a hostile value."""
    return st.dictionaries(st.sampled_from(sorted(names)), hostile_text, min_size=min_size)


# Each example is a few requests on the test client: bounded and deterministic, like every test.
FORM_EXAMPLES = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def database_state() -> dict:
    """Rows per table (sessions aside: a visit may keep one), and the places taken on every sailing.

    One query, asked before and after every example: counting table by table cost a round trip per model."""
    from django.db import connection

    from ferries.models import SailingInventory

    quote = connection.ops.quote_name
    tables = {m._meta.db_table for m in apps.get_models() if not m._meta.proxy} - {"django_session"}
    counts = [f"SELECT CAST(%s AS varchar), COUNT(*) FROM {quote(table)}" for table in sorted(tables)]
    places = f"SELECT CAST(%s AS varchar), SUM(taken) FROM {quote(SailingInventory._meta.db_table)}"
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join([*counts, places]), [*sorted(tables), "places taken"])
        return dict(cursor.fetchall())
