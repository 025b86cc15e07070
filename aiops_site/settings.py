"""Settings for the AI Pilot Tracker.

Every difference between environments is an environment variable with a safe default:
no DATABASE_URL means SQLite under var/, no CELERY_BROKER_URL means Celery's filesystem
broker under var/, no EMAIL_URL means the console backend. Outside DEBUG a SECRET_KEY is
required. A developer's .env (from `make setup`) is read first; real variables win.
"""

from pathlib import Path

import environ
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's checkout keeps DEBUG=1 and a generated SECRET_KEY in .env (written by
# `make setup`), so `manage.py` works there without exporting anything. Variables set in the
# real environment always win; production images carry no .env (see .dockerignore), and the
# tests set AIOPS_ENV_FILE="" so they never depend on one.
_env_file = env.str("AIOPS_ENV_FILE", default=str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file)

VAR_DIR = Path(env.str("AIOPS_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
DEMO_MODE = env.bool("DEMO_MODE", default=DEBUG)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The port `make run` serves (scripts/run.py hands it to runserver, the worker and beat): the
# default SITE_URL follows it, so the links seed_demo prints and the worker emails reach the
# server that was started. Any real deployment sets SITE_URL.
PORT = env.int("PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "core",
    "pilots",
    "governance",
    "feedback",
    "incidents",
    "decisions",
    "notifications",
    "webhooks",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First after security: times the whole request and logs one line for it (aiops_site.logs).
    "aiops_site.logs.RequestLogMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in person's own language, over the browser's.
    "notifications.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns failed logins into lockouts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aiops_site.urls"
WSGI_APPLICATION = "aiops_site.wsgi.application"

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
                "pilots.views.nav",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while a worker writes. secure_delete overwrites deleted
    # rows, so a copy of the file keeps no trace of rows rewritten for anonymity (a closed
    # round's responses, feedback.answering.scatter_rows).
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA secure_delete=ON;"
    )
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"]["timeout"] = 20
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_MANIFEST_STRICT = False

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI Pilot Tracker <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where EMAIL_URL=filemail:// writes messages (one file per connection).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "emails"))
# A dotted backend path overrides EMAIL_URL's (the worker tests count emails with their own).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_CONFIG["EMAIL_BACKEND"])
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
OPS_EMAILS = env.list("OPS_EMAILS", default=[])

# Security: production values follow from DEBUG being off; each can be overridden.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Trust X-Forwarded-Proto only behind a proxy that sets it and drops a client's own: otherwise
# any client could claim HTTPS (secure cookies, the HTTPS redirect and CSRF's checks rely on it).
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Exempt the health probe from the HTTPS redirect so a load balancer can call it over HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy on every response (django-csp; Django 5.2 has none built in): no inline
# script or style anywhere (templates link static files), no framing, forms post only here.
# The favicon is an empty data: URL (base.html), so that no page asks for /favicon.ico.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    },
}

# The API (api app): a personal token first, so that a missing or refused one is answered with
# 401 and a Bearer challenge; the browser's session (with CSRF); Basic only in DEBUG.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        *(["rest_framework.authentication.BasicAuthentication"] if DEBUG else []),
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    # Per token, counted in the default cache (CACHES below): shared by every worker.
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_TOKEN_RATE", default="1200/hour")},
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Pilot Tracker API",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from this server (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.mark_deprecated",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "pilots.models.Stage",
        "DataClassificationEnum": "pilots.models.DataClassification",
        "RoundStatusEnum": "feedback.models.FeedbackRound.Status",
        "DeclarationStatusEnum": "pilots.models.ToolDeclaration.Status",
        "ReviewKindEnum": "pilots.models.Review.Kind",
        "GuardrailKindEnum": "pilots.models.Guardrail.Kind",
        "GuardrailActionEnum": "pilots.models.Guardrail.Action",
        "ConclusionOutcomeEnum": "pilots.models.Conclusion.Outcome",
        "ReviewOutcomeEnum": "pilots.models.Review.Outcome",
        "WebhookKindEnum": "webhooks.models.Endpoint.Kind",
        "WebhookEventEnum": "webhooks.models.Event",
    },
}

# Celery. The filesystem broker needs nothing installed; Redis is used when configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (worker control) tables; kombu's default is a relative "control/" folder.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # kombu's Redis transport with one repair (aiops_site/broker.py): without it a worker that
    # loses Redis while a task runs exits with "'NoneType' object has no attribute 'hostname'"
    # instead of reconnecting. Same URL schemes and options as kombu's own (not Sentinel).
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        CELERY_BROKER_TRANSPORT = "aiops_site.broker:Transport"
    # Longer than the longest task and any countdown, so an unacked task is not redelivered
    # while it still runs (Celery's Redis transport redelivers after this).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # A worker looks for messages unacknowledged past the visibility timeout (their worker
        # died) every interval x throttle seconds; kombu's defaults, lowered by the crash drills.
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
        # kombu checks its long-lived BRPOP and pub/sub connections this often and drops one
        # whose reply is overdue, so a Redis that vanished without closing the socket (failover,
        # a NAT or firewall timeout) is noticed and reconnected too. kombu's default, written
        # here because reconnection relies on it: 0 would disable the checks. Redis has no
        # broker_heartbeat (that setting is AMQP's).
        "health_check_interval": 25,
    }
# The cache counts API throttling, so it must be shared by every worker: CACHE_URL when given,
# else the Redis of the broker when there is one, else (the embedded default: one process)
# the local-memory cache.
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "aiops-cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
# A lost broker connection is re-established, at growing intervals (2, 4, ... 30 s), for as
# long as it takes: a worker outlives a Redis restart instead of exiting (Celery's default is
# to give up after 100 attempts, about 45 minutes). Each attempt is logged ("Cannot connect").
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# The same for a worker started before Redis answers (make run, docker compose up): it waits.
# Beat needs no such setting: it connects to send a tick, and a tick that Redis cannot take is
# logged ("Couldn't apply scheduled task") and lost; the next tick finds what is due.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task still running when the connection is lost runs to its end (its acknowledgement then
# fails and is logged). Cancelling it instead (Celery's coming default) would stop a send
# between an email accepted by the mail server and its 'sent' commit, leaving a prompt that
# the sweep must fail: every task here is safe to run twice, not safe to cut in the middle.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A dedicated queue name lets the worker tests run beside a development worker.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Sending (the outbox's deliveries) can get workers of its own, so a fan-out of 10,000 emails never
# delays a round's close or its guardrail evaluation: set CELERY_SEND_QUEUE=send and run one
# worker with `-Q send` and another on the default queue. Unset, everything shares one queue.
CELERY_SEND_QUEUE = env.str("CELERY_SEND_QUEUE", default=CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_ROUTES = {
    "core.tasks.deliver_batch": {"queue": CELERY_SEND_QUEUE},
    "core.tasks.deliver_batches": {"queue": CELERY_SEND_QUEUE},
}
# Beat only ticks; feedback.scheduling reads the database to decide what is due.
CELERY_BEAT_SCHEDULE: dict = {
    "open-due-rounds": {"task": "feedback.tasks.open_due_rounds", "schedule": 300.0},
    "remind": {"task": "feedback.tasks.remind", "schedule": 900.0},
    "close-due-rounds": {"task": "feedback.tasks.close_due_rounds", "schedule": 300.0},
}

# An approved tool's transparency facts are checked again this many days after the last check.
TOOL_RECHECK_DAYS = env.int("TOOL_RECHECK_DAYS", default=365)
# The currency of tool costs and pilot budgets (pilots.costs).
COST_CURRENCY = env.str("COST_CURRENCY", default="EUR")
# The budget guardrail (pilots.budget) pauses running pilots over their cap set to "pause";
# a tool's cost change asks at once, this tick catches the rest (a pilot approved over its cap).
CELERY_BEAT_SCHEDULE["enforce-budgets"] = {
    "task": "pilots.tasks.enforce_budgets",
    "schedule": 3600.0,
}
# Ops see how many people declared a tool in a team only from this count (never below 2).
DECLARATION_COUNT_THRESHOLD = env.int("DECLARATION_COUNT_THRESHOLD", default=3)

# Feedback.
# Read through feedback.anonymity.anonymity_threshold(), which never goes below 3.
FEEDBACK_ANONYMITY_THRESHOLD = env.int("FEEDBACK_ANONYMITY_THRESHOLD", default=5)
# Rounds open at this hour, local time of the pilot's team, on the period's first day.
FEEDBACK_ROUND_OPEN_HOUR = env.int("FEEDBACK_ROUND_OPEN_HOUR", default=9)
# A round that would stay open less than this before the next period is not opened.
FEEDBACK_MIN_WINDOW_HOURS = env.int("FEEDBACK_MIN_WINDOW_HOURS", default=24)
# At most this many invitation emails per person and 7 days, across all pilots; invitations due
# together go in one email (a link each). 0: no cap, one email per invitation. No cap by default:
# an invitation over the cap waits a week slot and its round may close first, cancelling it
# (README, "Fatigue across pilots").
FEEDBACK_MAX_INVITES_PER_WEEK = env.int("FEEDBACK_MAX_INVITES_PER_WEEK", default=0)

# GET /metrics (Prometheus) answers only a scrape bearing this token; off (404) when empty.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# LOG_FORMAT=json (the default outside DEBUG): one JSON object per line (aiops_site.logs), one
# line per request (aiops.request) and per task (aiops.task). text: Django's plain lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
# Celery's worker keeps these handlers instead of installing its own, so its lines are JSON too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "aiops_site.logs.JsonFormatter"},
        "text": {"format": "[%(asctime)s: %(levelname)s/%(name)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["redact_answer_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Answer links carry a token in their path: never log it (feedback.log_filters).
    "filters": {
        "redact_answer_tokens": {"()": "feedback.log_filters.RedactAnswerTokens"},
        "drop_answer_requests": {"()": "feedback.log_filters.DropAnswerRequests"},
    },
    "loggers": {
        **{
            name: {"filters": ["drop_answer_requests", "redact_answer_tokens"]}
            for name in ("django.request", "django.security.csrf", "django.server")
        },
        # aiops.task says it once, without the arguments and the result (aiops_site.celery);
        # Celery's own line per task stays for failures.
        "celery.app.trace": {"level": "WARNING"},
    },
}


# The spine (core): follow-up work and the outbox. A follow-up or delivery in progress for longer
# than this lost its worker (longer than any single handler or send, EMAIL_TIMEOUT included): an
# at-most-once delivery (a participant's invitation) is then failed, never sent again by itself.
# OUTBOX_BATCH: deliveries one send task handles before it re-enqueues itself (time limits).
FOLLOWUP_STUCK_MINUTES = env.int("FOLLOWUP_STUCK_MINUTES", default=10)
FOLLOWUP_SWEEP_BATCH = env.int("FOLLOWUP_SWEEP_BATCH", default=500)
OUTBOX_STUCK_MINUTES = env.int("OUTBOX_STUCK_MINUTES", default=15)
OUTBOX_BATCH = env.int("OUTBOX_BATCH", default=500)
CELERY_BEAT_SCHEDULE["sweep-followups"] = {"task": "core.tasks.sweep_followups", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["sweep-outbox"] = {"task": "core.tasks.sweep_outbox", "schedule": 120.0}

# Review SLAs (pilots.review_sla): a proposal or a lead's request for a decision waiting for Ops
# longer than this many days is flagged on the Ops home and in their daily digest.
REVIEW_SLA_DAYS = env.int("REVIEW_SLA_DAYS", default=5)
# The digest goes out at the first beat tick of the day from this local hour (TIME_ZONE).
REVIEW_DIGEST_HOUR = env.int("REVIEW_DIGEST_HOUR", default=8)
# Approved standards (pilots.approvals): Ops and the lead are reminded this many days before the
# re-certification date, once per threshold.
RECERTIFICATION_REMINDER_DAYS = [
    int(days) for days in env.list("RECERTIFICATION_REMINDER_DAYS", default=["30", "7"])
]
# Beat only ticks, hourly: the outbox's keys make one digest per Ops user and day, and one
# reminder per standard, date and threshold, however often they run.
CELERY_BEAT_SCHEDULE["review-digest"] = {
    "task": "notifications.tasks.send_review_digest",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["recertification-reminders"] = {
    "task": "notifications.tasks.remind_recertifications",
    "schedule": 3600.0,
}
# Webhooks (webhooks.sending): an endpoint is disabled after this many calls in a row failed;
# each call waits at most WEBHOOK_TIMEOUT seconds for each network step (far below
# OUTBOX_STUCK_MINUTES). Private, loopback and link-local addresses are refused (SSRF) unless
# WEBHOOK_ALLOW_PRIVATE_HOSTS is on (a receiver on the same network; the tests' on 127.0.0.1).
WEBHOOK_MAX_FAILURES = env.int("WEBHOOK_MAX_FAILURES", default=5)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)

# Optional error reporting (aiops_site.sentry): personal data scrubbed before anything leaves.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from aiops_site import sentry

    sentry.init(SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default=""))
