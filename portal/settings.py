"""Settings for the incident portal, read from the environment.

Defaults run the portal on a clean machine with SQLite (``make run`` sets
DJANGO_DEBUG=1). Without DEBUG the settings refuse unsafe configuration.
"""

import hashlib
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _code_release(base: Path) -> str:
    """A digest of the code and templates this process runs (PORTAL_RELEASE overrides it)."""
    digest = hashlib.sha256()
    for folder in ("portal", "incidents", "accounts", "templates"):
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in (".py", ".html", ".txt", ".xml") and "migrations" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


DEBUG = env.bool("DJANGO_DEBUG", default=False)
TESTING = env.bool("DJANGO_TESTING", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value in production, "
            "or set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105
elif not (DEBUG or TESTING) and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is too weak: use at least 50 random characters "
        '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
    )

_LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=_LOCAL_HOSTS if (DEBUG or TESTING) else [])
if not (DEBUG or TESTING) and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names the portal serves.")
if DEBUG and any(h == "*" or h not in _LOCAL_HOSTS for h in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=1 is for local development only; it must not be combined with public "
        f"DJANGO_ALLOWED_HOSTS ({', '.join(ALLOWED_HOSTS)})."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "django_countries",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API's docs page and its Swagger UI, from our static files
    "portal",
    "accounts",
    "incidents",
]
if DEBUG or TESTING:  # benchmark tooling (synthetic data), never in production
    INSTALLED_APPS.append("bench.apps.BenchConfig")

MIDDLEWARE = [
    "portal.observability.RequestLogMiddleware",
    "portal.middleware.StripNulMiddleware",
    "portal.versions.VersionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMFAMiddleware",
    "portal.middleware.PrivateCacheMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "accounts.context_processors.membership",
                "portal.context_processors.site",
            ],
        },
    },
]

# Django's form renderer, its select menus written without a template per option.
FORM_RENDERER = "portal.forms.Renderer"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# A read replica (optional): catalogue reads go there, everything else to the primary
# (portal.db_router).
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["portal.db_router.ReplicaRouter"]
for _alias, _db in DATABASES.items():
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        # Keeps the catalogue's triggers when a migration remakes a table (portal/sqlite).
        _db["ENGINE"] = "portal.sqlite"
        # Django's default for SQLite's test database, said outright: pytest-django knows
        # it only under Django's own engine name (and gives each worker its own anyway).
        _db.setdefault("TEST", {}).setdefault("NAME", ":memory:")
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
        _db["CONN_HEALTH_CHECKS"] = True
        # An unreachable database answers with a 503 page within seconds, not a hang:
        # a connect timeout for new connections, TCP keepalives and a send timeout for
        # open ones that go silent.
        _options = _db.setdefault("OPTIONS", {})
        _options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2))
        _options.setdefault("keepalives", 1)
        _options.setdefault("keepalives_idle", 10)
        _options.setdefault("keepalives_interval", 3)
        _options.setdefault("keepalives_count", 3)
        _options.setdefault("tcp_user_timeout", 10_000)  # milliseconds
        if _statement_timeout := env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=0):
            # For the web servers only (docs/deploy.md): imports run longer statements.
            _options["options"] = (
                _options.get("options", "") + f" -c statement_timeout={_statement_timeout}"
            ).strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
        "DATABASE_TEST_NAME", default="test_incident_portal"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Two caches (docs/deploy.md, "Caches"):
# - "default": security state (allauth's rate limits, used two-factor codes) and, when
#   pages are process-local, the catalogue version. Shared by every process and never
#   filled with pages, so no page can evict a login lock. The database (a table made by
#   portal's migration), or a Redis of its own (SECURITY_REDIS_URL, no eviction policy).
# - "pages": pages, fragments and counts (incidents.caching), rebuilt from the database
#   at will. Redis when REDIS_URL is set (shared, with the catalogue version beside
#   them); otherwise this process's memory, correct across processes because every key
#   holds the shared catalogue version.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="portal")
# A Redis that hangs costs at most this, then is skipped for a few seconds.
_REDIS_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}
SECURITY_REDIS_URL = env.str("SECURITY_REDIS_URL", default="")
if SECURITY_REDIS_URL:
    _security_cache = {
        "BACKEND": "portal.cache.ResilientRedisCache",
        "LOCATION": SECURITY_REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": _REDIS_OPTIONS,
    }
else:
    _security_cache = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "portal_cache",
        # Rate-limit entries expire within minutes; expired ones go first when culled.
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    }
if env.bool("PAGES_CACHE_OFF", default=False):
    # Nothing kept: every page computed for each request (bench/load_benchmark.sh measures
    # the catalogue this way: the cache must be an accelerator, not what makes it usable).
    _pages_cache = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
elif REDIS_URL:
    _pages_cache = {
        # Django's Redis backend; a Redis outage means cache misses, not errors.
        "BACKEND": "portal.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "TIMEOUT": 300,
        "OPTIONS": _REDIS_OPTIONS,
    }
else:
    _pages_cache = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
# Cached pages and values are read only by the release that wrote them: during a rolling
# deploy, old and new processes share Redis and neither reads a shape it cannot use.
# (Process-local pages die with their process: only a shared store needs the release.)
if "KEY_PREFIX" in _pages_cache:
    RELEASE = env.str("PORTAL_RELEASE", default="") or _code_release(BASE_DIR)
    _pages_cache["KEY_PREFIX"] = f"{CACHE_KEY_PREFIX}:{RELEASE}"
CACHES = {
    "default": _security_cache,
    "pages": _pages_cache,
    # This process's memory, for small values every request needs (incidents.caching).
    "local": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "local",
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
}

# Accounts (django-allauth): email is the login, and it must be verified.
SITE_ID = 1
# Written to the Sites table after every migrate (accounts.apps); links in emails,
# feeds and sitemaps use it.
SITE_DOMAIN = env.str("DJANGO_SITE_DOMAIN", default="127.0.0.1:8000")
SITE_NAME = "Cyber Incident Portal"
LOGIN_REDIRECT_URL = "accounts:membership"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Incident Portal] "
# Confirming the address in the browser that signed up signs the new account in and
# resumes where sign-up was asked to lead (its ``next``: the plan chosen on the pricing
# page). The link opened elsewhere confirms only (allauth keeps the sign-up in the session).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Accounts are greeted by name or email, never by the username allauth makes up
# from the address ("buyer1").
ACCOUNT_USER_DISPLAY = "accounts.adapter.user_display"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# The site's own address, for canonical links and citations (never the request's Host).
SITE_URL = f"{ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{SITE_DOMAIN}"
# Where contact-form messages go; empty: every active staff account's address.
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="")
# Account emails are rendered in the request and sent by a background task.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.adapter.LoginForm"}

# Two-factor authentication (allauth.mfa): an authenticator app with recovery codes.
# Staff must set it up (accounts.middleware.StaffMFAMiddleware); members may opt in.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Cyber Incident Portal"
if DEBUG:
    # Development only (allauth refuses it without DEBUG): the demo staff accounts'
    # second step accepts this code, so `make run` needs no authenticator app.
    MFA_TOTP_INSECURE_BYPASS_CODE = env.str("DJANGO_DEV_MFA_CODE", default="000000")

# Rate limits (allauth), counted in the default cache (shared by every worker and app
# server, and never evicted by pages). Per IP and per account/email; wrong
# two-factor codes count as failed logins.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
# Behind nginx: how many proxies in front of the app set X-Forwarded-For (so rate
# limits see the client's address, not the proxy's).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)

# Email: the console in development, SMTP from EMAIL_URL in production
# (e.g. smtp+tls://user:password@smtp.example.com:587).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif DEBUG or TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    raise ImproperlyConfigured("EMAIL_URL must be set in production (smtp+tls://user:pw@host:587).")
# Background jobs (docs/jobs.md): Django's task API (django-tasks) on a queue in the database,
# run by `manage.py db_worker` (`make run` and `make serve` start one). Tests run tasks at
# once, in the enqueuing process, unless they ask for the database backend.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if TESTING
        else "django_tasks_db.DatabaseBackend",
    }
}

# Payments (accounts.billing, docs/deploy.md "Payments"). Without a secret key, development
# (DEBUG) uses the offline test-mode backend and production offers the invoice request only.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")  # tests: a local fake of Stripe's API
# The webhook refuses bodies above this size unread (413); Stripe's events are a few KB.
STRIPE_WEBHOOK_MAX_BYTES = env.int("STRIPE_WEBHOOK_MAX_BYTES", default=256 * 1024)

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Incident Portal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Emailed exports' files (incidents.ExportJob): private, outside STATIC_ROOT and any served
# directory; read only through the signed download view, which checks membership.
EXPORT_FILES_DIR = Path(env.str("EXPORT_FILES_DIR", default=str(BASE_DIR / "private" / "exports")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": EXPORT_FILES_DIR},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if (DEBUG or TESTING)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Strict: scripts and styles only from our own static files, never inline
# (templates carry no inline script, style or event handler; keep it so).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # data: for the QR code of an authenticator app
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Browser features the portal never uses (portal.middleware).
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)
if not (DEBUG or TESTING):
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Each test process gets its own caches, never a shared Redis nor a table: security
    # state and pages apart, as in production (a test may shrink "pages").
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "security",
        },
        "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
        "local": CACHES["local"],
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

PORTAL_PAGE_SIZE = 25
# Exports (incidents.exports, docs/exports.md): rows per UTC day, members per account
# (their plan's export_rows_per_day, else this), everyone else per IP address; rows read
# per query.
EXPORT_ROWS_PER_DAY = env.int("EXPORT_ROWS_PER_DAY", default=100_000)
EXPORT_PUBLIC_ROWS_PER_DAY = env.int("EXPORT_PUBLIC_ROWS_PER_DAY", default=10_000)
EXPORT_CHUNK_SIZE = 1000
# Members' exports above this many rows are made by the job queue and emailed as a link
# (so is any export a member asks to "Email me the file"); the link works this many days.
EXPORT_EMAIL_THRESHOLD = env.int("EXPORT_EMAIL_THRESHOLD", default=50_000)
EXPORT_LINK_DAYS = env.int("EXPORT_LINK_DAYS", default=7)
EXPORT_JOBS_PER_DAY = env.int("EXPORT_JOBS_PER_DAY", default=20)  # per member
# An emailed export still being written this long after its run started was left by a
# worker that died: requeue_stalled_exports enqueues it again, until it has been run this
# many times; then it is marked failed.
EXPORT_STALLED_MINUTES = env.int("EXPORT_STALLED_MINUTES", default=60)
EXPORT_JOB_ATTEMPTS = env.int("EXPORT_JOB_ATTEMPTS", default=3)
# How long a process re-uses the catalogue's versions it read (portal.versions) before
# reading them again: pages may be this many seconds late in other processes after a write.
VERSION_SECONDS = env.float("VERSION_SECONDS", default=1.0)
# Statistics roll-ups (incidents.statistics.rollups): after a withdrawal, a key whose last
# count took at least this many seconds is recounted by the job queue, not in a request.
STATISTICS_QUEUE_SECONDS = env.float("STATISTICS_QUEUE_SECONDS", default=5.0)
# The whole public catalogue as one file (/data/incidents.csv): a file behind the catalogue
# is written again at most this often (seconds; incidents.exports.snapshot).
PUBLIC_SNAPSHOT_INTERVAL = env.int("PUBLIC_SNAPSHOT_INTERVAL", default=600)
# The API (incidents.api, docs/api.md): requests per minute per account (all of its tokens
# together), and per IP address for requests without a token.
API_REQUESTS_PER_MINUTE = env.int("API_REQUESTS_PER_MINUTE", default=120)
API_ANONYMOUS_REQUESTS_PER_MINUTE = env.int("API_ANONYMOUS_REQUESTS_PER_MINUTE", default=30)
# JSON lines on stderr: one per request (portal.observability) and every warning.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "portal.observability.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "portal.request": {
            "handlers": ["console"],
            "level": env.str("DJANGO_REQUEST_LOG_LEVEL", default="INFO"),
            "propagate": False,
        },
        # Requests are logged once, by portal.request.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": [], "propagate": False},
    },
}
if TESTING:
    # Quiet unless a test asks (caplog, which listens on the root logger).
    LOGGING["loggers"]["portal.request"] = {"level": "WARNING", "propagate": True}
