"""Maritime settings, read from the environment.

Two modes:

* DEBUG on (the default): anything not configured falls back to the embedded default — SQLite,
  local-memory cache, eager Celery, e-mails written to files in var/mail, demo payments — so a fresh clone
  runs with no services.
* DEBUG=0 (production): every real part must be configured; a missing or bad value stops the process
  at start with a message naming the variable. Production never falls back silently.

Every variable is listed, with its default, in docs/configuration.md.
"""

import logging
import os
import secrets
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from environs import Env, validate
from kombu import Exchange, Queue

# --- Reading the environment ---------------------------------------------------------------------
# environs reads and checks each variable: a bad value stops the process at start with
# `environs.EnvValidationError: Environment variable "NAME" invalid: …`.


class Environment(Env):
    """environs' reader, with a value left blank read as unset (compose's `${NAME:-}` and the env files' `NAME=''`
    leave the default, as an absent variable does) and the spaces around a value dropped."""

    def _get_value(self, env_key, default):
        value = super()._get_value(env_key, default)
        return (value.strip() or default) if isinstance(value, str) else value


env = Environment()  # the process's environment only: no .env file is read

_PORT = validate.Range(min=1, max=65535)
_WEB_URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="Must start with http:// or https://.")
_REDIS_URL = validate.URL(
    schemes={"redis", "rediss"}, require_tld=False, error="Must start with redis://, rediss:// or unix://."
)
# A request rate as Django REST framework reads it: DRF looks only at the first letter of the period.
_RATE = validate.Regexp(
    r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)\Z",
    error="Must be a rate such as 120/minute (per second, minute, hour or day).",
)


def _redis_url(value: str) -> None:
    """A Redis server's URL, or a socket's (unix:///path), which marshmallow's URL check does not know."""
    if not (value.startswith("unix:///") and value != "unix:///"):
        _REDIS_URL(value)


def _starts_with(*prefixes: str) -> validate.Regexp:
    return validate.Regexp("|".join(prefixes), error=f"Must start with {' or '.join(prefixes)}.")


def _items(values: list[str]) -> list[str]:
    """The items of a comma-separated list, without the spaces around them or blanks between commas."""
    return [value.strip() for value in values if value.strip()]


def _redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server as `url`, database `db`."""
    return urlsplit(url)._replace(path=f"/{db}").geturl()


def _redis_location(url: str) -> tuple[str, int, int]:
    """(host, port, db) of a Redis URL, to tell whether two URLs share a database."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    return (parts.hostname or "localhost", parts.port or 6379, int(path) if path.isdigit() else 0)


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("MARITIME_VAR_DIR", str(BASE_DIR / "var")))

logger = logging.getLogger("maritime.settings")

# --- Mode and core --------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", True)
PRODUCTION = not DEBUG


def _check_production_environment() -> None:
    """Name every missing variable at once, so an operator fixes them in one go."""
    required = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DEFAULT_FROM_EMAIL"]
    required += ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"]
    missing = [name for name in required if not env.str(name, "")]
    if not (env.str("REDIS_URL", "") or env.str("REDIS_HOST", "")):
        missing.append("REDIS_URL (or REDIS_HOST)")
    if missing:
        raise ImproperlyConfigured(
            f"Production mode (DEBUG=0) needs {', '.join(missing)} to be set in the environment. "
            "See docs/configuration.md."
        )


def _embedded_secret_key() -> str:
    """A key generated once per checkout, kept out of version control in var/."""
    path = VAR_DIR / "secret_key"
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as fh:  # "x": two processes starting together never overwrite each other
            fh.write(secrets.token_urlsafe(50))
    except FileExistsError:
        pass
    return path.read_text().strip()


if PRODUCTION:
    _check_production_environment()
    SECRET_KEY = env.str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak for production: use at least 50 random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
else:
    SECRET_KEY = env.str("SECRET_KEY", "") or _embedded_secret_key()

ALLOWED_HOSTS = _items(env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]))
CSRF_TRUSTED_ORIGINS = _items(env.list("CSRF_TRUSTED_ORIGINS", []))
# The site as travellers reach it, for absolute links in e-mails and printed output (`make run` sets it to its port).
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000", validate=_WEB_URL).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: maritime's runserver (static files plus the embedded default's periodic tasks) wins.
    "maritime",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_celery_beat",
    "django_countries",  # ISO 3166-1 countries, with their names translated
    "allauth",
    "allauth.account",
    "allauth.headless",
    "ferries",
    "bookings",
    "payments",
    "notifications",
    "accounts",
]

MIDDLEWARE = [
    # First: a scrape of /metrics is answered before anything else runs, and is not itself measured.
    "maritime.metrics.MetricsEndpointMiddleware",
    # Request counts and latency by view (django-prometheus's, recording what is read: kernel/request_metrics.py);
    # its pair is the last middleware.
    "kernel.request_metrics.RequestsInMiddleware",
    "kernel.logs.LogContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kernel.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A search answer kept whole is sent from here, with the parts of the layers below that it has (their language,
    # length, X-Frame-Options, count by view): it reads no session, user or message.
    "ferries.api.middleware.KeptAnswerMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kernel.language.LanguageMiddleware",  # Django's LocaleMiddleware, no language read from the path
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kernel.messages.LazyMessageMiddleware",  # Django's, its storage made on first use
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "kernel.request_metrics.ViewMetricsMiddleware",
]

ROOT_URLCONF = "maritime.urls"
WSGI_APPLICATION = "maritime.wsgi.application"
ASGI_APPLICATION = "maritime.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Dates, times and amounts as the page's language writes them, on every template without a {% load %}.
            "builtins": ["kernel.templatetags"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------

if env.str("DATABASE_URL", ""):
    _conn_max_age = env.int("DATABASE_CONN_MAX_AGE", 60, validate=validate.Range(min=0))
    _database = env.dj_db_url("DATABASE_URL", conn_max_age=_conn_max_age)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "maritime.sqlite3"),
        # Writers queue up instead of failing with "database is locked" under the threaded dev server.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }

if PRODUCTION and _database["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL (postgres://…) in production mode (DEBUG=0).")
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database["CONN_HEALTH_CHECKS"] = True
    _options = _database.setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))
    # Values sent apart from the SQL (psycopg 3's server-side binding), so that a statement run again on the same
    # connection is prepared once and PostgreSQL no longer parses and plans it at every run: once it has run five
    # times (psycopg's `prepare_threshold`). Off where a pooler between us and PostgreSQL cannot keep prepared
    # statements (PgBouncer before 1.21 in transaction mode).
    if env.bool("DATABASE_PREPARED_STATEMENTS", True):
        _options.setdefault("server_side_binding", True)
        _options.setdefault("prepare_threshold", 5)  # Django's default is never
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and broker ----------------------------------------------------------------------
# The cache and the Celery broker live in separate Redis databases (ideally separate servers: the
# broker with `noeviction`, the cache with an LRU policy), so evicting cache entries can never drop a task.

REDIS_HOST = env.str("REDIS_HOST", "")
REDIS_PORT = env.int("REDIS_PORT", 6379, validate=_PORT)
REDIS_DB = env.int("REDIS_DB", 0, validate=validate.Range(min=0, max=15))

REDIS_URL = env.str("REDIS_URL", "", validate=_redis_url) or (
    f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}" if REDIS_HOST else ""
)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", "", validate=_redis_url) or (
    _redis_url_with_db(REDIS_URL, _redis_location(REDIS_URL)[2] + 1) if REDIS_URL else ""
)

if REDIS_URL and CELERY_BROKER_URL and _redis_location(REDIS_URL) == _redis_location(CELERY_BROKER_URL):
    _shared = "REDIS_URL (cache) and CELERY_BROKER_URL (broker) point to the same Redis database"
    if PRODUCTION:
        raise ImproperlyConfigured(f"{_shared}; give the broker its own database or server.")
    logger.warning("%s; cache eviction could drop queued tasks.", _shared)

REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", 0.5, validate=validate.Range(min=0.05, max=30))
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "maritime")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                # The cache is for display only: when Redis is down, pages are computed instead of failing.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "maritime.cache"

# Sessions live in the database: a Redis outage must not sign anyone out or lose a basket.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Celery ---------------------------------------------------------------------------------------
# Queues and retry budgets are described in docs/queues-and-tasks.md. Routing is by module, here, not in
# task decorators, so the whole picture is in one place.

CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", False)
CELERY_TASK_STORE_EAGER_RESULT = True
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://"
# kombu's Redis transport, with one client a channel for its publishes rather than a new one each (kernel/broker.py).
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "kernel.broker:Transport"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", "django-db")
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", 7 * 24 * 3600, validate=validate.Range(min=3600))

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]

CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("default", "emails", "payments", "bookings")
)
CELERY_TASK_CREATE_MISSING_QUEUES = False
CELERY_TASK_ROUTES = {
    "notifications.tasks.*": {"queue": "emails"},
    "payments.tasks.*": {"queue": "payments"},
    "bookings.tasks.*": {"queue": "bookings"},
    # Work for the cache only, nobody waiting on it: the default queue, behind nothing a traveller waits for.
    "ferries.tasks.warm_popular_searches_task": {"queue": "default"},
}

# A task is acknowledged only once done, and handed to another worker if its worker dies mid-way;
# every task is idempotent, so a repeat is harmless. One message at a time per worker process.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# No "started" result is written before a task runs. Results live in PostgreSQL: while it restarts, that write
# fails outside the task's body, where no retry applies, and the message is acknowledged unrun — a worker would
# empty its queues within a second. Without it the task's own first query fails, and the task retries.
CELERY_TASK_TRACK_STARTED = False
# Celery's Django fix-up closes the database connection before and after every task unless this is set, so each
# task would open a connection of its own (a new PostgreSQL server process). Tasks keep theirs as requests do
# instead — reused up to CONN_MAX_AGE, checked before reuse, dropped after an error — see maritime/celery.py.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 60, validate=validate.Range(min=1))
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 90, validate=validate.Range(min=2))
# Workers report each task's life to Flower; the web processes send no "task sent" event of their own, which
# would cost every request that queues work (a webhook, a booking) a second message to Redis.
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A deploy stops workers with SIGTERM: Celery's warm shutdown takes no new task and waits for the running
# ones (at most CELERY_TASK_TIME_LIMIT). SIGQUIT is the cold shutdown: running tasks get this many seconds
# to finish, then are cancelled and, acknowledged late, go straight back to their queue in Redis.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float(
    "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 30.0, validate=validate.Range(min=0)
)

# The longest retry countdown is 600 s (e-mails). Redis redelivers an unacknowledged message after
# the visibility timeout, so it must be longer than any countdown or a waiting retry would run twice.
_broker_socket_timeout = env.float("CELERY_BROKER_SOCKET_TIMEOUT", 5.0, validate=validate.Range(min=0.1))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", 900, validate=validate.Range(min=660)),
    "socket_timeout": _broker_socket_timeout,
    "socket_connect_timeout": _broker_socket_timeout,
    "health_check_interval": 25,
    "retry_on_timeout": True,
}
if key_prefix := env.str("CELERY_BROKER_KEY_PREFIX", ""):
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = key_prefix

# Publishing happens after commit, inside a request: if the broker is down the request must not hang.
# Every piece of async work also has a database row that a sweeper re-enqueues, so giving up is safe.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Installed into the database scheduler at beat's start; intervals can then be edited in the admin.
CELERY_BEAT_SCHEDULE = {
    "expire-unpaid-holds": {"task": "bookings.tasks.expire_holds_task", "schedule": 60.0},
    "retry-stalled-bookings": {"task": "bookings.tasks.retry_stalled_bookings_task", "schedule": 300.0},
    "release-expired-capacity-holds": {"task": "ferries.tasks.release_expired_capacity_holds_task", "schedule": 300.0},
    "sweep-payments": {"task": "payments.tasks.sweep_payments_task", "schedule": 60.0},
    "sweep-outbox": {"task": "notifications.tasks.sweep_outbox_task", "schedule": 60.0},
    "check-alerts": {"task": "maritime.tasks.check_alerts_task", "schedule": 60.0},
    "check-travel-alerts": {"task": "notifications.tasks.check_travel_alerts_task", "schedule": 60.0},
    "send-departure-reminders": {"task": "bookings.tasks.send_departure_reminders_task", "schedule": 60.0},
    "expire-disruption-choices": {"task": "bookings.tasks.expire_disruptions_task", "schedule": 60.0},
    "poll-operator-sailings": {"task": "bookings.tasks.poll_operator_sailings_task", "schedule": 300.0},
    "forget-personal-data": {"task": "bookings.tasks.forget_personal_data_task", "schedule": 24 * 3600.0},
    # More often than SEARCH_WARM_WITHIN, so that no warmed answer lapses between two runs.
    "warm-popular-searches": {
        "task": "ferries.tasks.warm_popular_searches_task",
        "schedule": 15.0,
        "options": {"expires": 15.0},  # a run still queued when the next is due is dropped, not run late
    },
}
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True

# --- E-mail ---------------------------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    # The embedded default writes e-mails (with their e-ticket attachments) to files in var/mail.
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.int("EMAIL_PORT", 587 if PRODUCTION else 25, validate=_PORT)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", PRODUCTION)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive; set only one.")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", 10, validate=validate.Range(min=1))
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# The company named on invoices and credit notes as the seller.
COMPANY = {
    "name": env.str("COMPANY_NAME", "Maritime Ferries SA"),
    "address": env.str("COMPANY_ADDRESS", "1 Quai de la Joliette, 13002 Marseille, France"),
    "vat_number": env.str("COMPANY_VAT_NUMBER", "FR00123456789"),
    "registration": env.str("COMPANY_REGISTRATION", "RCS Marseille 123 456 789"),
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Maritime <bookings@maritime.localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
ADMINS = [(name, address) for name, address in getaddresses(env.list("ADMINS", [])) if address]
EMAIL_SUBJECT_PREFIX = "[Maritime] "

# --- Payments (Stripe) ----------------------------------------------------------------------------
# Without keys (and only with DEBUG on) payments run through the demo provider: the same webhook
# path, with events signed by Stripe's own signing code.

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", "", validate=_starts_with("sk_", "rk_"))
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", "", validate=_starts_with("pk_"))
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", "", validate=_starts_with("whsec_"))
STRIPE_API_BASE = env.str("STRIPE_API_BASE", "https://api.stripe.com", validate=_WEB_URL)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", 10.0, validate=validate.Range(min=1))
PAYMENTS_PROVIDER = "stripe" if STRIPE_SECRET_KEY else "demo"

# --- Ferries and bookings -------------------------------------------------------------------------


def _operator_api_urls() -> dict[str, str]:
    """OPERATOR_API_URLS="CTN=http://127.0.0.1:8100/CTN,GNV=…": operators reached over HTTP at these URLs."""
    urls = {}
    for item in _items(env.list("OPERATOR_API_URLS", [])):
        code, _, url = item.partition("=")
        if not code.strip() or not url.strip().startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"OPERATOR_API_URLS: expected CODE=http(s)://…, got {item!r}.")
        urls[code.strip().upper()] = url.strip()
    return urls


OPERATOR_API_URLS = _operator_api_urls()
OPERATOR_TIMEOUT_SECONDS = env.float("OPERATOR_TIMEOUT_SECONDS", 3.0, validate=validate.Range(min=0.1, max=30))
OPERATOR_MAX_CONCURRENCY = env.int("OPERATOR_MAX_CONCURRENCY", 16, validate=validate.Range(min=1, max=128))
# Calls that change a remote operator's bookings (confirm, cancel, passenger list), per operator, all workers together.
OPERATOR_WRITES_PER_MINUTE = env.int("OPERATOR_WRITES_PER_MINUTE", 60, validate=validate.Range(min=1, max=6000))
SEARCH_HORIZON_DAYS = env.int("SEARCH_HORIZON_DAYS", 180, validate=validate.Range(min=1))
BOOKING_CUTOFF_MINUTES = env.int("BOOKING_CUTOFF_MINUTES", 60, validate=validate.Range(min=0))
BOOKING_HOLD_MINUTES = env.int("BOOKING_HOLD_MINUTES", 20, validate=validate.Range(min=1, max=24 * 60))
# Off, searches and availability are neither read from nor written to the cache (each search asks the operators),
# while capacity changes still drop what other processes cached. For measuring what the cache is worth.
SEARCH_CACHE = env.bool("SEARCH_CACHE", True)
# Each web process keeps its own copy of the most asked whole answers (at most SEARCH_ANSWER_LOCAL_SIZE, each for
# SEARCH_ANSWER_LOCAL_TTL seconds), sent only while Redis still keeps the entry copied (Redis tells the process of
# changes; ferries/cache/first_level.py): 0 for either keeps none.
SEARCH_ANSWER_LOCAL_TTL = env.float("SEARCH_ANSWER_LOCAL_TTL", 5.0, validate=validate.Range(min=0, max=60))
SEARCH_ANSWER_LOCAL_SIZE = env.int("SEARCH_ANSWER_LOCAL_SIZE", 2000, validate=validate.Range(min=0))
# Warming (beat, `warm-popular-searches`): the SEARCH_WARM_TOP most asked answers (asked at least twice lately) are
# made again when they have less than SEARCH_WARM_WITHIN seconds left, so the most asked searches seldom miss.
SEARCH_WARM_TOP = env.int("SEARCH_WARM_TOP", 200, validate=validate.Range(min=0))
SEARCH_WARM_WITHIN = env.float("SEARCH_WARM_WITHIN", 20.0, validate=validate.Range(min=1, max=60))

# --- Alerts to ADMINS (maritime/alerts.py), each condition at most once an hour -------------------

ALERT_QUEUE_BACKLOG = env.int("ALERT_QUEUE_BACKLOG", 500, validate=validate.Range(min=1))
ALERT_FAILED_TASKS_PER_HOUR = env.int("ALERT_FAILED_TASKS_PER_HOUR", 20, validate=validate.Range(min=1))
ALERT_EMAIL_AGE_MINUTES = env.int("ALERT_EMAIL_AGE_MINUTES", 30, validate=validate.Range(min=1))
ALERT_WEBHOOK_AGE_MINUTES = env.int("ALERT_WEBHOOK_AGE_MINUTES", 15, validate=validate.Range(min=1))

# --- Metrics (Prometheus; docs/operations.md#metrics) ----------------------------------------------
# /metrics (and a worker's own endpoint) answers only the bearer of METRICS_TOKEN. Unset, the site's /metrics answers
# 404 in production, and anyone in development.
METRICS_TOKEN = env.str("METRICS_TOKEN", "")
if PRODUCTION and METRICS_TOKEN and (len(METRICS_TOKEN) < 32 or len(set(METRICS_TOKEN)) < 5):
    raise ImproperlyConfigured("METRICS_TOKEN is too weak: use at least 32 random characters.")
# A Celery worker serves its processes' metrics on this port (0: it serves none; the site's /metrics never shows them).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", 0, validate=validate.Range(min=0, max=65535))
WORKER_METRICS_ADDRESS = env.str("WORKER_METRICS_ADDRESS", "127.0.0.1")
# prometheus_client reads PROMETHEUS_MULTIPROC_DIR itself, as it is imported (kernel/metrics.py): set, even blank, it
# writes every value to files there, so it must name a directory, one per program.
if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"].strip()
    if not _metrics_dir:
        raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR is blank: unset it, or name a directory of its own.")
    try:
        Path(_metrics_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR: cannot create {_metrics_dir}: {exc}") from None
elif WORKER_METRICS_PORT:
    # A worker's pool processes run the tasks: without the shared directory the endpoint would show none of them.
    raise ImproperlyConfigured("WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (a directory for this worker).")

# --- Production security --------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, validate=validate.Range(min=0))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True  # not checked by check --deploy; every cookie of an HTTPS-only site is Secure
if env.bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# What a page may load and run: our own static files only — no inline script or style, no other origin, no frames, no
# plugins, forms posting to us only, and no site may frame ours. Set by django-csp on every response, JSON included:
# an answer opened as a page is held to the same policy (with DEBUG on, django-csp leaves 404 and 500 answers without
# one, so that Django's debug pages show). The exceptions are in kernel/csp.py and on their views.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation, time, static files -----------------------------------------------------

LANGUAGE_CODE = "en"
# The languages of our routes' travellers, each named in itself (the switcher lists them so). The first guess is
# the browser's Accept-Language (LocaleMiddleware); a choice made with the switcher is kept in a cookie for a year.
# Adding one: README.md, "Adding a language".
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("ar", "العربية"),
    ("it", "Italiano"),
    ("es", "Español"),
    ("de", "Deutsch"),
]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from the finders, but wants the folder
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served at the site's root: /favicon.ico, which browsers ask for on pages that link no icon (the admin, the API).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Hashed, compressed file names (cache them forever) need `collectstatic` first: on in production.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", PRODUCTION)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # PDFs made once and kept (notifications.documents): a cache, one folder for every process of a deployment
    # (the compose stack mounts one volume there), so that forgetting a booking deletes its e-tickets everywhere.
    "documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "documents"},
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- API ------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kernel.api.TokenAuthentication",
        "kernel.api.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "kernel.api.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # Counted in the cache's Redis, for the API and the website's forms alike; what happens when it is down is
    # decided in kernel/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": ["kernel.throttling.AnonThrottle", "kernel.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_RATE_ANON", "120/minute", validate=_RATE),
        "user": env.str("API_RATE_USER", "300/minute", validate=_RATE),
        "booking_create": env.str("API_RATE_BOOKING_CREATE", "30/hour", validate=_RATE),
        "payment_start": env.str("API_RATE_PAYMENT_START", "60/hour", validate=_RATE),
        # The website's "Manage my booking": reference and e-mail tried, per address or user (bookings made on the
        # website count against API_RATE_BOOKING_CREATE, with the API's).
        "booking_lookup": env.str("RATE_BOOKING_LOOKUP", "20/hour", validate=_RATE),
        # Guest bookings claimed by an account: each code asked for and each code typed.
        "booking_claim": env.str("RATE_BOOKING_CLAIM", "20/hour", validate=_RATE),
        # Bookings asked for with a promo code, on the website or the API: each is a guess at a code.
        "promo_code": env.str("RATE_PROMO_CODE", "20/hour", validate=_RATE),
        # Travel alerts set, on the website or the API: each may send a confirmation e-mail.
        "travel_alert": env.str("RATE_TRAVEL_ALERT", "20/hour", validate=_RATE),
    },
    # Clients are told apart by address: behind a proxy, the one it adds to X-Forwarded-For (never one the
    # client wrote there itself).
    "NUM_PROXIES": env.int(
        "API_NUM_PROXIES", 1 if env.bool("SECURE_PROXY_SSL_HEADER", False) else 0, validate=validate.Range(min=0)
    ),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Maritime API",
    "DESCRIPTION": "Search Mediterranean ferry sailings, book, pay and manage bookings. Travellers sign up, verify "
    "their address, sign in and out and reset their password through the headless account API described at "
    "[/_allauth/openapi.html](/_allauth/openapi.html); the session token it answers opens `/api/v1/` as "
    "`X-Session-Token`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several answers carry a "status"; named here, clients get readable enum types instead of made-up names.
    "ENUM_NAME_OVERRIDES": {
        "AvailabilityStatusEnum": "ferries.api.serializers.AVAILABILITY_STATUSES",
        "OperatorStatusEnum": "ferries.api.serializers.OPERATOR_STATUSES",
        "BookingStatusEnum": "bookings.models.Booking.Status",
        "PassengerTypeEnum": "ferries.choices.PassengerType",
        "VehicleCategoryEnum": "ferries.choices.VehicleCategory",
        "AccommodationEnum": "ferries.choices.Accommodation",
        "CountryEnum": "ferries.choices.COUNTRY_CODES",
        "EventActorEnum": "bookings.api.serializers.EVENT_ACTORS",
        "LegDirectionEnum": "bookings.models.BookingLeg.Direction",
        "ChangeStatusEnum": "bookings.models.BookingChange.Status",
        "DisruptionChoiceEnum": "bookings.api.serializers.DISRUPTION_CHOICES",
        "ScanOutcomeEnum": "bookings.models.TicketScan.Outcome",
        "TravelAlertKindEnum": "notifications.models.TravelAlert.Kind",
        "TravelAlertStatusEnum": "notifications.api.views.ALERT_STATUSES",
    },
    # A booking's access token opens that booking without an account; declared as a scheme of its own so that
    # Swagger's "Authorize" sends it. The operations it opens list it beside the owner's Token (bookings.api.schema).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bookingToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Booking-Token",
                "description": "A booking's `access_token`, as answered when it was made: opens that booking (read, "
                "cancel, pay) without an account. Its owner signed in with `Authorization: Token …` needs none.",
            }
        }
    },
    # 401, 406, 415 and 429 come from DRF itself, on many operations: documented on each in one place; so is an
    # optional query parameter sent empty, read as left out.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kernel.api.document_framework_answers",
        "kernel.api.document_empty_query_values",
        "bookings.api.changes.close_change_request",
        "bookings.api.schema.cancel_one_part_at_once",
    ],
}

# --- Traveller accounts (django-allauth: the website's pages, and its headless API for the mobile app) ----------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # staff and port agents sign in with their user name
    "allauth.account.auth_backends.AuthenticationBackend",  # travellers with their e-mail address
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "my_trips"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# No account sees a booking, saved traveller or trip before its address is proven.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# One address per account; a new one replaces it once verified, and the old one is told.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_PREVENT_ENUMERATION = True
# allauth's own rate limits (counted in the cache) apply as they are: failed sign-ins 10 a minute per address and
# 5 in 5 minutes per account, sign-ups 20 a minute per address, password resets 5 a minute per address asked for.
# The mobile app signs in through allauth's headless API (/_allauth/app/v1/…) and sends the session token it gets
# as X-Session-Token, to allauth's API and to /api/v1/ alike. The website uses allauth's pages.
HEADLESS_CLIENTS = ("app",)
HEADLESS_SERVE_SPECIFICATION = True
# A guest booking is claimed with a code e-mailed to its contact address: this long to type it, this many tries.
BOOKING_CLAIM_MINUTES = env.int("BOOKING_CLAIM_MINUTES", 30, validate=validate.Range(min=1, max=24 * 60))
BOOKING_CLAIM_ATTEMPTS = 5
# Personal data of bookings no account keeps (guests', and those of deleted accounts) is kept this long after
# their last sailing, for claims under the passengers' rights (the Athens Convention allows two years), then
# anonymised; invoices keep their buyer for the accounting law.
PERSONAL_DATA_RETENTION_DAYS = env.int("PERSONAL_DATA_RETENTION_DAYS", 730, validate=validate.Range(min=1))

# --- Logging --------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", "INFO", validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))
# json: one object per line on stdout, with the booking reference and Celery task id when known (kernel/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", "json" if PRODUCTION else "plain", validate=validate.OneOf(["plain", "json"]))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "kernel.logs.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "kernel.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}
        | ({"stream": "ext://sys.stdout"} if LOG_FORMAT == "json" else {})
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
