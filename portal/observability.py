"""One JSON log line per request, tied together by a request id that the response returns."""

import json
import logging
import re
import time
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.functional import empty

logger = logging.getLogger("portal.request")

REQUEST_ID_HEADER = "X-Request-ID"
# An id set by the proxy in front (nginx: proxy_set_header X-Request-ID $request_id) is kept
# when it looks like one; anything else is replaced, so logs never carry injected text.
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# One-time secrets travel in these paths (password reset and email confirmation links).
_SECRET_IN_PATH = re.compile(r"^(/accounts/(?:password/reset/key|confirm-email)/)[^/]+")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        # In development, static files served fine are logged at debug level only: one line
        # per stylesheet and script buried what a developer looks for (pages, emails).
        self.quiet_prefix = urlsplit(settings.STATIC_URL).path if settings.DEBUG else None

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request.id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.id
        user = getattr(request, "user", None)
        quiet = (
            self.quiet_prefix is not None
            and request.path.startswith(self.quiet_prefix)
            and response.status_code < 400
        )
        logger.log(
            logging.DEBUG if quiet else logging.INFO,
            "request",
            extra={
                "request_id": request.id,
                "method": request.method,
                "path": _SECRET_IN_PATH.sub(r"\1[redacted]", request.path),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": _user_id(user),
            },
        )
        return response


def _user_id(user):
    """The user's id, or "anonymous"; "unknown" when the request never loaded it (the
    health checks, or the database is down), so that logging never costs a query."""
    if user is None:
        return "anonymous"
    if getattr(user, "_wrapped", None) is empty:
        return "unknown"
    return user.pk if user.is_authenticated else "anonymous"


class JsonFormatter(logging.Formatter):
    """Log records as JSON lines: time, level, logger, message and the record's extra fields."""

    STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record):
        entry = {
            "time": timezone.now().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self.STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
