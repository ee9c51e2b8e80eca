"""Settings for every deployment, read from the environment in this one place.

Every default is the embedded one: a SQLite file, an in-process Dramatiq worker and an in-memory
channel layer. Setting ``DATABASE_URL``, ``BROKER_URL`` and ``CHANNEL_LAYER_URL`` switches to a
production deployment. See the configuration table in the README.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

EMBEDDED_SECRET_KEY = "django-insecure-embedded-default-change-me"  # noqa: S105

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# State of the embedded default (SQLite file, uploads) lives here, outside the code.
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Fernet keys (comma separated, newest first) that encrypt secrets at rest. The embedded default
# derives one from SECRET_KEY so that a newcomer needs no set-up; production must set its own.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])


def _refuse_unsafe_production_settings() -> None:
    """Stop start-up when DEBUG is off and a setting would make the deployment unsafe."""
    problems = []
    if SECRET_KEY == EMBEDDED_SECRET_KEY or len(SECRET_KEY) < 32:
        problems.append(
            "SECRET_KEY is missing or the embedded default: set SECRET_KEY to a random string of "
            "50 characters or more (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not ALLOWED_HOSTS:
        problems.append(
            "ALLOWED_HOSTS is empty: set ALLOWED_HOSTS to the comma-separated host names this "
            "platform is served under."
        )
    if not ENCRYPTION_KEYS:
        problems.append(
            "ENCRYPTION_KEYS is missing: set it to a Fernet key (python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    if problems:
        raise ImproperlyConfigured("DEBUG is off and:\n- " + "\n- ".join(problems))


if not DEBUG:
    _refuse_unsafe_production_settings()

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "channels",
    "django_dramatiq",
    "accounts",
    "workflows",
    "executions",
    "datasources",
    "agents",
    "templates",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "platform_site.urls"
WSGI_APPLICATION = "platform_site.wsgi.application"
ASGI_APPLICATION = "platform_site.asgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "platform_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool per process: under ASGI every request may run on another thread, and persistent
    # per-thread connections would pile up; a pool also saves the connect on each request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Each connection taken from the pool is checked first, so that a restarted database
    # costs a reconnect rather than a failed request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=12),
        "timeout": env.float("DB_POOL_TIMEOUT_S", default=10.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the in-process worker write while requests read; the timeout rides out
    # short write locks instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "platform_site.cache.SharedPoolRedisCache"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "uploads")))

# Request bodies larger than this are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=10 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON everywhere; the few views that take forms (login) or files (uploads) say so.
    "DEFAULT_PARSER_CLASSES": ["platform_site.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "platform_site.api.pagination.SkipLimitPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "platform_site.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {
        "login_failures": env.str("LOGIN_FAILURE_RATE", default="10/5m"),
        "execute": env.str("EXECUTE_RATE", default="1200/m"),
        "chat": env.str("CHAT_RATE", default="120/m"),
    },
}

SIMPLE_JWT = {
    # Access tokens travel in WebSocket query strings (and so in access logs): keep them short.
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Conflux API",
    "DESCRIPTION": "Low-code AI workflows and agents: build, run, watch and publish.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SECURITY": [{"BearerAuth": []}],
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "BearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "platform_site.api.schema.add_error_responses",
        "platform_site.api.schema.add_links",
    ],
    "ENUM_NAME_OVERRIDES": {
        "WorkflowStatusEnum": "workflows.models.WorkflowStatus",
        "ExecutionStatusEnum": "executions.models.ExecutionStatus",
        "HealthStatusEnum": ["ok", "unavailable"],
        "ConnectionTestStatusEnum": ["success", "failed"],
        "ServerStatusEnum": "executions.models.ServerStatus",
        "ServerTypeEnum": "executions.models.ServerType",
        "DataSourceTypeEnum": "datasources.models.connector_choices",
        "ServerHealthStatusEnum": ["healthy", "unhealthy"],
        "BatchStatusEnum": "executions.models.BatchStatus",
        "BatchItemStatusEnum": "executions.models.BatchItemStatus",
    },
}

# Dramatiq: no BROKER_URL means the embedded default, a stub broker drained by a worker thread
# inside the web process. redis:// or amqp:// URLs switch to a shared broker and separate
# `manage.py rundramatiq` workers.
BROKER_URL = env.str("BROKER_URL", default="")
EMBEDDED_WORKER = not BROKER_URL
_DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.ShutdownNotifications",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Pipelines",
    "dramatiq.middleware.Retries",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "executions.worker.WorkerHeartbeatMiddleware",
]
if not BROKER_URL:
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
elif BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    DRAMATIQ_BROKER = {
        "BROKER": "platform_site.broker.WakingRedisBroker",
        "OPTIONS": {"url": BROKER_URL, "namespace": env.str("BROKER_NAMESPACE", "conflux")},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
elif BROKER_URL.startswith(("amqp://", "amqps://")):
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        "OPTIONS": {"url": BROKER_URL},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
else:
    raise ImproperlyConfigured(
        f"BROKER_URL {BROKER_URL!r} is not understood: use redis://host:6379/0 or "
        "amqp://user:password@host:5672/ (or leave it unset for the in-process worker)."
    )
DRAMATIQ_AUTODISCOVER_MODULES = ["actors"]
# The longest an idle worker waits before looking at its queues again (ms). With Redis an
# enqueue wakes it at once (platform_site/broker.py), so this bounds only the rarer cases: a lost
# wake-up, a delayed retry coming due, a worker asked to stop. With RabbitMQ messages are pushed.
DRAMATIQ_WORKER_TIMEOUT_MS = env.int("DRAMATIQ_WORKER_TIMEOUT_MS", default=100)
EMBEDDED_WORKER_THREADS = env.int("EMBEDDED_WORKER_THREADS", default=8)
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=5.0)
# Every this many heartbeats a worker looks for executions nobody runs any more.
REAPER_EVERY_BEATS = env.int("REAPER_EVERY_BEATS", default=2)
# A running execution whose worker has been silent this long is taken over by another.
EXECUTION_STALE_SECONDS = env.float("EXECUTION_STALE_SECONDS", default=30.0)
EXECUTION_MAX_CLAIMS = env.int("EXECUTION_MAX_CLAIMS", default=5)
EXECUTION_MAX_RETRIES = env.int("EXECUTION_MAX_RETRIES", default=10)
EXECUTION_TIME_LIMIT_S = env.int("EXECUTION_TIME_LIMIT_S", default=3600)
MAX_LOGS_PER_EXECUTION = env.int("MAX_LOGS_PER_EXECUTION", default=10_000)
MAX_NODE_OUTPUT_BYTES = env.int("MAX_NODE_OUTPUT_BYTES", default=1024 * 1024)
MAX_LOOP_ITEMS = env.int("MAX_LOOP_ITEMS", default=10_000)
# Executions of one user that may be pending, running or waiting at once (429 past that).
MAX_ACTIVE_EXECUTIONS_PER_USER = env.int("MAX_ACTIVE_EXECUTIONS_PER_USER", default=200)
MAX_GRAPH_NODES = env.int("MAX_GRAPH_NODES", default=1000)
MAX_GRAPH_EDGES = env.int("MAX_GRAPH_EDGES", default=5000)

CHANNEL_LAYER_URL = env.str("CHANNEL_LAYER_URL", default="")
if CHANNEL_LAYER_URL:
    if not CHANNEL_LAYER_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"CHANNEL_LAYER_URL {CHANNEL_LAYER_URL!r} is not understood: use "
            "redis://host:6379/1 (or leave it unset for the in-memory layer of one process)."
        )
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "platform_site.channel_layer.WakingPubSubChannelLayer",
            "CONFIG": {"hosts": [CHANNEL_LAYER_URL], "prefix": "conflux"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Outbound HTTP from nodes and data sources refuses private and loopback addresses unless the
# host or network is listed here.
OUTBOUND_ALLOW_HOSTS = env.list("OUTBOUND_ALLOW_HOSTS", default=[])
OUTBOUND_ALLOW_NETWORKS = env.list("OUTBOUND_ALLOW_NETWORKS", default=[])
SQLITE_DATASOURCE_DIR = Path(env.str("SQLITE_DATASOURCE_DIR", default=str(DATA_DIR / "sqlite")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
    },
}

# Published workflows, triggers, batches, compute servers and uploads.
# How long `chat/completions` and `resume` wait for a run that is not streamed (then 202 + id).
PUBLISHED_WAIT_TIMEOUT_S = env.float("PUBLISHED_WAIT_TIMEOUT_S", default=120.0)
# Webhook calls: per-hook and per-address rates, the largest body, the longest wait.
WEBHOOK_RATE = env.str("WEBHOOK_RATE", default="120/m")
WEBHOOK_ADDRESS_RATE = env.str("WEBHOOK_ADDRESS_RATE", default="600/m")
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_MAX_WAIT_S = env.int("WEBHOOK_MAX_WAIT_S", default=120)
# Workers fire due schedules from their heartbeat; turn off when `run_scheduler` runs instead.
SCHEDULER_IN_WORKERS = env.bool("SCHEDULER_IN_WORKERS", default=True)
BATCH_MAX_ITEMS = env.int("BATCH_MAX_ITEMS", default=10_000)
BATCH_MAX_CONCURRENCY = env.int("BATCH_MAX_CONCURRENCY", default=100)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
