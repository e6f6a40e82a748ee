"""Test settings: the project's settings with fast, isolated services."""

import os
import tempfile

os.environ.setdefault("DJANGO_TESTING", "1")
# Emailed exports' files: a directory of this test run, never the checkout's private/.
os.environ.setdefault("EXPORT_FILES_DIR", tempfile.mkdtemp(prefix="portal-test-exports-"))

from portal.settings import *  # noqa: E402, F403

# Every read of the catalogue's versions goes to the database (portal.versions): a test's
# write is seen by its next request, as the writer's own process sees it in production.
VERSION_SECONDS = 0
