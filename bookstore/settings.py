"""One settings module for every environment, driven by environment variables.

Every variable is listed with a comment in `.env.example`. The defaults are the
safe ones: DEBUG is off unless asked for, and HTTPS hardening is on unless DEBUG
is on or `DJANGO_HTTPS=false` says the site is served over plain HTTP (tests).

Sections, in order: core and security; apps and middleware; database; cache;
authentication; language and time; static and media files; email; logging; Celery;
Stripe and payments; Content-Security-Policy; shop rules; JSON API. A new setting goes
in its topic's section.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core and security ------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (see .env.example), or set DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS hardening is on in production; DJANGO_HTTPS=false turns it off for plain-HTTP
# servers such as the test live server.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("DJANGO_BEHIND_PROXY", default=False) else None
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe health over plain HTTP behind their TLS (ops/views.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Apps and middleware ----------------------------------------------------------
INSTALLED_APPS = [
    # Django's admin with the shop's site, whose index leads with the staff dashboard (ops/admin_site.py).
    "ops.admin_apps.ShopAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "djstripe",
    "bookstore",
    "cart",
    "orders",
    "payments",
    "accounts",
    "ops",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    # First: every later middleware's log lines carry the request's correlation id (bookstore/logs.py).
    "ops.middleware.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bookstore.urls"
WSGI_APPLICATION = "bookstore.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bookstore.context_processors.shop",
                "cart.context_processors.cart_summary",
            ],
        },
    },
]

# Opts into Django 6.0's https default now (dj-stripe's admin forms warn otherwise).
FORMS_URLFIELD_ASSUME_HTTPS = True

# --- Database ---------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s web server, worker and webhooks write at once. Each transaction takes the
    # write lock as it begins (a deferred one that writes later fails at once with "database
    # is locked" instead of waiting), a writer waits up to 20 s for it, and with WAL readers
    # are never blocked by the writer. Options in DATABASE_URL's query string win.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------
# Throttle counters live in the cache, so every web worker must share it: Redis when
# REDIS_URL is set; the per-process memory cache is only good for one process (dev, tests).
REDIS_URL = env("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
CACHES["default"]["KEY_PREFIX"] = "bookstore"

# --- Authentication ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes' backend first: it refuses a locked-out sign-in before a password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Password guessing: after this many wrong passwords for one account, or from one client
# address, every sign-in of that account or from that address (shop, admin, API token) is
# refused for the cool-off. Staff lift a lockout earlier in the admin (Axes: access attempts,
# delete the row) or with `manage.py axes_reset_username <name>`.
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGNIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The client address is the connection's, or behind a trusted proxy the one it forwards:
# otherwise a guesser could name a new address in X-Forwarded-For with every try.
AXES_IPWARE_PROXY_COUNT = 1 if SECURE_PROXY_SSL_HEADER else None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if SECURE_PROXY_SSL_HEADER else ["REMOTE_ADDR"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalogue:book_list"
LOGOUT_REDIRECT_URL = "catalogue:book_list"

# --- Language and time ------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The shop's own zone: pages, documents and the admin show times in it, and say which.
TIME_ZONE = env("SHOP_TIME_ZONE", default="Europe/Dublin")
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
# Receipt PDFs are stored under the media folder.
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Tests and `runserver` serve static files straight from the finders, no collectstatic needed.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
WHITENOISE_MANIFEST_STRICT = False

# --- Email ------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Bookstore <orders@bookstore.example>")

# --- Logging ----------------------------------------------------------------------
# One JSON object a line in production (python-json-logger), readable lines with DEBUG; every
# line names its correlation id and order (bookstore/logs.py). LOG_FORMAT=plain|json overrides.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "bookstore.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s %(order)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s %(order)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs every step of every render at INFO.
        "weasyprint.progress": {"level": "WARNING"},
    },
}
# Error reports to Sentry only when a DSN is set; no personal data is sent with them.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        send_default_pii=False,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
# /metrics answers staff signed in, or a scraper sending `Authorization: Bearer <this>`.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# prometheus-client reads PROMETHEUS_MULTIPROC_DIR itself (multiprocess mode, ops/metrics.py) and
# fails on a folder that is not there.
if env("PROMETHEUS_MULTIPROC_DIR", default=""):
    Path(env("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
# A web process refuses to start on a failed system check (ops/checks.py) unless turned off.
CHECK_AT_START = env.bool("DJANGO_CHECK_AT_START", default=not DEBUG)

# --- Celery -----------------------------------------------------------------------
# Redis is the broker and result store when REDIS_URL is set (tests, production). Without
# it (`make run`), kombu's filesystem transport under var/celery/ needs no server at all.
CELERY_DATA_DIR = Path(env("CELERY_DATA_DIR", default=str(BASE_DIR / "var" / "celery")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Producers and workers write to and read from the same folder: one queue on disk.
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DATA_DIR / 'results'}"
    # The transport does not create its folders, and the web process may publish first.
    for _folder in ("queue", "control", "processed", "results"):
        (CELERY_DATA_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 60 * 60 * 24
# Our tasks return nothing, and a result would make each publish also wait on the result
# store (up to 20 s of reconnecting when Redis is down); a caller that wants one asks for it.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Tasks are idempotent, so a message is acknowledged only once its task has finished, and
# is handed to another worker process if the one running it dies (OOM killer, SIGKILL).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A stuck render or SMTP conversation cannot hold a worker process for ever.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
# One message reserved at a time: with late acks, prefetched messages would wait behind
# a slow task instead of going to an idle worker.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# WeasyPrint's memory grows across renders in one process; recycling the pool process
# bounds it. The worker's --max-tasks-per-child (or CELERY_WORKER_MAX_TASKS_PER_CHILD in its
# environment, which Celery's command line reads) wins over this.
CELERY_WORKER_MAX_TASKS_PER_CHILD = 100
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker logs through LOGGING above (JSON, correlation ids) instead of its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Tasks that spend their time waiting on Stripe go to their own queue, consumed by a worker
# with a threads pool (Procfile: worker-stripe), so a webhook is not queued behind receipt
# renders (CPU-bound, prefork, the default queue) and a dozen can wait on Stripe at once.
# That pool enforces no time limit; STRIPE_TIMEOUT_SECONDS bounds each call instead. Every
# other task goes to Celery's default queue, "celery".
CELERY_TASK_ROUTES = {
    task: {"queue": "stripe"}
    for task in (
        "payments.webhook_process",
        "payments.webhook_inbox_sweep",
        "payments.payments_reconcile",
        "payments.payments_release_expired",
    )
}
# A web request that queues a task after its commit gives up on a dead broker within a
# couple of seconds; the beat sweep below queues what was lost.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BEAT_SCHEDULE = {
    "payments-release-expired": {"task": "payments.payments_release_expired", "schedule": 60.0},
    "payments-reconcile": {"task": "payments.payments_reconcile", "schedule": 15 * 60.0},
    # Paid orders whose receipt was never queued (broker down at payment time) or never
    # finished; see payments/documents/services.py: receipts_sweep.
    "receipts-sweep": {"task": "payments.receipts_sweep", "schedule": 5 * 60.0},
    # Stripe events stored in the webhook inbox whose task was lost (broker down, worker
    # killed); see payments/paying/inbox.py: webhook_inbox_sweep.
    "webhook-inbox-sweep": {"task": "payments.webhook_inbox_sweep", "schedule": 60.0},
    # Orders awaiting payment whose confirmation email was lost; see orders/confirmation.py.
    "order-confirmations-sweep": {"task": "payments.order_confirmations_sweep", "schedule": 2 * 60.0},
}

# --- Stripe and payments ----------------------------------------------------------
# With Stripe keys in the environment the shop talks to Stripe; without them, to the
# local emulator (stripe_emulator/). Only these settings differ: the code has no branch.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_EMULATED = not STRIPE_SECRET_KEY
if STRIPE_EMULATED:
    # dj-stripe refuses keys shorter than 24 characters after the prefix.
    STRIPE_SECRET_KEY = "sk_test_" + "emulator" * 4
    STRIPE_PUBLISHABLE_KEY = "pk_test_" + "emulator" * 4
STRIPE_EMULATOR_URL = env("STRIPE_EMULATOR_URL", default="http://127.0.0.1:12111")
STRIPE_API_BASE = STRIPE_EMULATOR_URL if STRIPE_EMULATED else "https://api.stripe.com"
if STRIPE_EMULATED:
    # dj-stripe points stripe.api_base here, so its own calls reach the emulator too. Only
    # set when emulated: dj-stripe warns (djstripe.W002) about it in a production check.
    STRIPE_API_HOST = STRIPE_API_BASE
STRIPE_JS_URL = f"{STRIPE_EMULATOR_URL}/v3/" if STRIPE_EMULATED else "https://js.stripe.com/v3/"
# Seconds the shop waits for one Stripe call, and how often stripe-python retries a
# network failure (always with the same idempotency key, so a retry cannot pay twice).
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=20)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# The events payments/paying/webhooks.py handles (HANDLERS); register_webhook_endpoint subscribes
# to these, and payments_reconcile recovers those Stripe could not deliver.
STRIPE_WEBHOOK_EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "charge.refunded",
    "charge.dispute.created",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "customer.updated",
    "customer.deleted",
    "payment_method.attached",
    "payment_method.detached",
]
# How shoppers pay: "element", the Payment Element on the shop's own page, or "checkout",
# Stripe's hosted Checkout page (payments/paying/checkout_sessions.py).
SHOP_PAYMENT_FLOW = env("SHOP_PAYMENT_FLOW", default="element")
if SHOP_PAYMENT_FLOW not in ("element", "checkout"):
    raise ImproperlyConfigured("SHOP_PAYMENT_FLOW must be 'element' or 'checkout'.")
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith("sk_live_")
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else STRIPE_SECRET_KEY
# Requests per second to Stripe from all the shop's processes together (shared in Redis),
# under Stripe's own 100 (live) and 25 (test, and the emulator stands in for test mode);
# 0 turns the limiter off. A request waits up to the next setting for its slot, then the
# shopper is told to try again in a moment.
STRIPE_RATE_LIMIT_PER_SECOND = env.float("STRIPE_RATE_LIMIT_PER_SECOND", default=80 if STRIPE_LIVE_MODE else 20)
STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS = env.float("STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS", default=5)
# A 429 from Stripe is retried (backoff with jitter, same idempotency key) this many
# times, within this many seconds, unless it says `Stripe-Should-Retry: false`; so is a 409
# `idempotency_key_in_use` (the same key's first request still running), whose retry gets
# that request's answer.
STRIPE_RATE_LIMITED_RETRIES = env.int("STRIPE_RATE_LIMITED_RETRIES", default=5)
STRIPE_RATE_LIMITED_RETRY_SECONDS = env.float("STRIPE_RATE_LIMITED_RETRY_SECONDS", default=10)
# One API version for every call, ours and dj-stripe's (stripe-python 15.6's own pin).
STRIPE_API_VERSION = env("STRIPE_API_VERSION", default="2026-08-26.dahlia")
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_USE_NATIVE_JSONFIELD = True
# An order still pending this long after its PaymentIntent was created is asked about
# at Stripe by payments_reconcile (a webhook may have been lost).
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=5)
# A shopper polling an order awaiting payment with no word from a webhook for this many
# seconds makes the shop ask Stripe itself, at most once per order per throttle window.
PAYMENT_HEAL_AFTER_SECONDS = env.int("PAYMENT_HEAL_AFTER_SECONDS", default=3)
PAYMENT_HEAL_THROTTLE_SECONDS = env.int("PAYMENT_HEAL_THROTTLE_SECONDS", default=15)

# --- Content-Security-Policy (django-csp) -----------------------------------------
# Scripts only from the shop's own static files and Stripe.js; Stripe.js's frames and API
# calls only to Stripe (its documented list), or all three to the emulator's origin when
# emulated. No inline script anywhere. Inline styles are allowed: Stripe.js (and the
# emulator's stand-in) style the elements they insert, and the admin sets a few; styles
# cannot run code.
if STRIPE_EMULATED:
    # The emulator's host on any port: the tests start one on a free port.
    _stripe_scripts = _stripe_frames = _stripe_api = ["{0.scheme}://{0.hostname}:*".format(urlsplit(STRIPE_EMULATOR_URL))]
else:
    _stripe_scripts = ["https://js.stripe.com", "https://*.js.stripe.com"]
    _stripe_frames = [*_stripe_scripts, "https://hooks.stripe.com"]
    _stripe_api = ["https://api.stripe.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, *_stripe_scripts],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "frame-src": _stripe_frames,
        "connect-src": [SELF, *_stripe_api],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# --- Shop rules -------------------------------------------------------------------
SHOP_NAME = env("SHOP_NAME", default="Paper Lantern Books")
SHOP_ADDRESS = env("SHOP_ADDRESS", default="12 Quay Street, Dublin D02 XY45, Ireland")
SHOP_CURRENCY = env("SHOP_CURRENCY", default="EUR").upper()
# Where shoppers reach the shop: emails sent by the worker, which has no request, link here.
SHOP_URL = env("SHOP_URL", default="http://127.0.0.1:8000").rstrip("/")
# VAT: prices include it. Rates in basis points (2300 is 23 %) per Book.VatCategory, copied
# onto each order line when the order is placed. Irish defaults: standard 23 %; printed books
# are zero-rated in Ireland (VAT Consolidation Act 2010, Schedule 2), so the reduced category
# books fall in is 0 here; elsewhere set it to the books rate (DE 700, FR 550, NL 900).
SHOP_VAT_RATES = env.dict("SHOP_VAT_RATES", cast={"value": int}, default={"standard": 2300, "reduced": 0, "zero": 0})
# Printed on receipts and credit notes with the seller's name and address.
SHOP_VAT_NUMBER = env("SHOP_VAT_NUMBER", default="")
# Stock held for an unpaid order before it is released back to the shelf.
ORDER_RESERVATION_MINUTES = env.int("ORDER_RESERVATION_MINUTES", default=30)
# One cart line may not ask for more than this, whatever the stock: it blunts abuse.
CART_MAX_QUANTITY_PER_LINE = env.int("CART_MAX_QUANTITY_PER_LINE", default=20)
# Staff may refund from the admin for this many days after payment; later refunds go
# through Stripe's dashboard, whose webhooks the shop still records.
REFUND_WINDOW_DAYS = env.int("REFUND_WINDOW_DAYS", default=90)
# How long after payment the receipts sweep waits before it queues a receipt the normal
# path should already have delivered, and how far back it looks.
RECEIPT_SWEEP_GRACE_SECONDS = env.int("RECEIPT_SWEEP_GRACE_SECONDS", default=120)
RECEIPT_SWEEP_MAX_AGE_DAYS = env.int("RECEIPT_SWEEP_MAX_AGE_DAYS", default=7)

# --- JSON API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous request is answered 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "bookstore.api_common.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "bookstore.api_errors.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "bookstore.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "bookstore.api_common.PageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["bookstore.api_common.WriteThrottle"],
    # Placing orders and creating payments are what card testers hammer; token requests
    # are what password guessers hammer. Rates are per user, or per client IP for guests.
    "DEFAULT_THROTTLE_RATES": {
        "orders": env("API_THROTTLE_ORDERS", default="30/hour"),
        "payments": env("API_THROTTLE_PAYMENTS", default="30/hour"),
        "auth": env("API_THROTTLE_AUTH", default="10/minute"),
    },
    # The client IP for throttling comes from X-Forwarded-For only behind a trusted proxy;
    # otherwise a client could name any IP and escape its limit.
    "NUM_PROXIES": 1 if SECURE_PROXY_SSL_HEADER else 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SHOP_NAME} API",
    "DESCRIPTION": (
        "The shop's catalogue, cart, orders and payments as JSON. Money is always an object "
        "`{amount, currency, formatted}` with `amount` in the currency's minor unit. Every error is "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Our PATCH bodies are not partial updates of a resource: their fields are required.
    "COMPONENT_SPLIT_PATCH": False,
    # The docs page loads Swagger UI from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # `<id:...>` in URLs (bookstore/ids.py): a row id, not any string of digits.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}},
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "PaymentStatusEnum": "payments.models.Payment.Status",
        "RefundStatusEnum": "payments.models.Refund.Status",
    },
}
