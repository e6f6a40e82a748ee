"""Test settings: the project's settings with fast, isolated services."""

import os

os.environ.setdefault("DJANGO_TESTING", "1")

from portal.settings import *  # noqa: E402, F403
