"""The bench app (synthetic data for benchmarks) is installed in development and tests only."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.test_settings import SAFE

ROOT = Path(__file__).resolve().parents[2]


def installed_apps(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_"))}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", "import portal.settings as s; print(*s.INSTALLED_APPS)"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_production_settings_do_not_install_the_bench_app():
    apps = installed_apps(**SAFE)
    assert "incidents" in apps
    assert not [app for app in apps if app.startswith("bench")]


def test_development_and_tests_install_it():
    assert "bench.apps.BenchConfig" in installed_apps(DJANGO_DEBUG="1")
    assert "bench.apps.BenchConfig" in settings.INSTALLED_APPS
