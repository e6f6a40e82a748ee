"""Rows exported per UTC day: members per account (their plan's ``export_rows_per_day``,
else ``EXPORT_ROWS_PER_DAY``: ``accounts.access.export_rows_per_day``), everyone else per
IP address.

Counted in the "default" cache (shared by every process, never evicted by pages).
A request reserves its rows before the file starts; if they do not fit in what is
left, nothing is reserved and the export is refused (429).
"""

from __future__ import annotations

import contextlib
import datetime

from django.conf import settings
from django.core.cache import caches

from accounts.access import export_rows_per_day, membership_plan

KEY_TIMEOUT = 2 * 24 * 3600  # the key names its day; this only clears it away


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the one the trusted proxies saw."""
    proxies = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    forwarded = request.headers.get("X-Forwarded-For", "")
    if proxies > 0 and forwarded:
        hops = [h.strip() for h in forwarded.split(",")]
        if len(hops) >= proxies:
            return hops[-proxies][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def seconds_until_tomorrow(now: datetime.datetime) -> int:
    tomorrow = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()))


class ExportQuota:
    def __init__(self, request, *, member: bool, user=None):
        """The quota of ``request``'s viewer; or, with ``user`` (a job, outside any request),
        that member's own."""
        now = datetime.datetime.now(datetime.UTC)
        if member:
            user = user or request.user
            self.limit = export_rows_per_day(user)
            self.plan = membership_plan(user)
            who = f"user:{user.pk}"
        else:
            self.plan = None
            self.limit = settings.EXPORT_PUBLIC_ROWS_PER_DAY
            who = f"ip:{client_ip(request)}"
        self.day = now.date()
        self.key = f"exports:rows:{now:%Y-%m-%d}:{who}"
        self.retry_after = seconds_until_tomorrow(now)
        self.cache = caches["default"]

    def no_exports(self) -> str:
        """Why every export is refused while the limit is 0 (a plan with exports turned off)."""
        if self.plan is not None:
            return (
                f"Your {self.plan.name} plan includes no exports: its export quota is 0 rows a day."
            )
        return "Exports are turned off: the daily export quota is 0 rows."

    def used(self) -> int:
        return self.cache.get(self.key, 0)

    def remaining(self) -> int:
        return max(0, self.limit - self.used())

    def reserve(self, rows: int) -> bool:
        """Count ``rows`` against today's quota, unless they do not fit."""
        if rows == 0:
            return True
        self.cache.add(self.key, 0, KEY_TIMEOUT)
        try:
            total = self.cache.incr(self.key, rows)
        except ValueError:  # the cache lost the key (or is down): let the export through
            return True
        if total > self.limit:
            with contextlib.suppress(ValueError):
                self.cache.decr(self.key, rows)
            return False
        return True

    def release(self, rows: int) -> None:
        """Give back ``rows`` reserved today (an export that failed)."""
        if rows:
            with contextlib.suppress(ValueError):  # the cache lost the key: nothing to give
                self.cache.decr(self.key, rows)
