"""The WSGI module gunicorn loads in each worker (portal/wsgi.py)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import sys, portal.wsgi; print('incidents.views.pages' in sys.modules)"


def test_a_worker_imports_the_urlconf_as_it_starts_not_in_its_first_request(tmp_path):
    """Issue 25: the first request a process served paid about a second for importing the
    URLconf and every view module (the admin's add page took 1.2-1.8 s)."""
    env = {**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(  # noqa: S603 - a fixed command
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
