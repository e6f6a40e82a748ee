"""Test settings: the project's settings with fast, isolated services."""

import os
import tempfile

os.environ.setdefault("DJANGO_TESTING", "1")
# Emailed exports' files: a directory of this test run, never the checkout's private/.
os.environ.setdefault("EXPORT_FILES_DIR", tempfile.mkdtemp(prefix="portal-test-exports-"))

from portal.settings import *  # noqa: E402, F403
