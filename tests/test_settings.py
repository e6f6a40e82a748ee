"""Production settings refuse unsafe configuration with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAFE = {
    "DJANGO_SECRET_KEY": "3vQ9-kd_Lx0pW7rT2mZ8yB4nC6hJ1fG5sA0eU9iO3qR7tY2wE8uI4oP6aS1dF5gH",
    "DJANGO_ALLOWED_HOSTS": "incidents.example.com",
    "EMAIL_URL": "smtp+tls://user:pw@smtp.example.com:587",
}


def load_settings(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_"))}
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings as s; print(s.DEBUG, s.EMAIL_BACKEND)"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_safe_production_configuration_loads():
    result = load_settings(**SAFE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "django.core.mail.backends.smtp.EmailBackend"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**SAFE, "DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY is not set"),
        ({**SAFE, "DJANGO_SECRET_KEY": "x" * 60}, "DJANGO_SECRET_KEY is too weak"),
        ({**SAFE, "DJANGO_SECRET_KEY": "short-Key-1"}, "DJANGO_SECRET_KEY is too weak"),
        ({**SAFE, "DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS must list"),
        ({**SAFE, "EMAIL_URL": ""}, "EMAIL_URL must be set"),
        ({**SAFE, "DJANGO_DEBUG": "1"}, "DJANGO_DEBUG=1 is for local development only"),
        ({"DJANGO_DEBUG": "1", "DJANGO_ALLOWED_HOSTS": "*"}, "local development only"),
    ],
)
def test_unsafe_configuration_is_refused(env, message):
    result = load_settings(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_development_defaults_need_no_configuration():
    result = load_settings(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "console" in result.stdout


def test_redis_cache_when_redis_url_is_set():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import portal.settings as s; print(s.CACHES['pages']['BACKEND'])",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS"))},
            "DJANGO_DEBUG": "1",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "portal.cache.ResilientRedisCache", result.stderr


def test_deploy_checks_report_nothing_in_production():
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, **SAFE},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_replica_url_adds_the_replica_and_its_router():
    code = (
        "import portal.settings as s; "
        "print(s.DATABASES['replica']['HOST'], s.DATABASES['replica']['OPTIONS'], "
        "s.DATABASE_ROUTERS)"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": "postgres://app@primary.internal/portal",
            "DATABASE_REPLICA_URL": "postgres://app@replica.internal/portal",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    host, rest = result.stdout.strip().split(" ", 1)
    assert host == "replica.internal"
    assert "'connect_timeout': 2" in rest and "'tcp_user_timeout': 10000" in rest
    assert rest.endswith("['portal.db_router.ReplicaRouter']")
