import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# Import the URLconf (every view module, the admin, the API) as the worker starts, not in
# the first request it serves: about a second on this machine (issue 25, docs/using.md).
URL_PATTERNS = get_resolver().url_patterns
