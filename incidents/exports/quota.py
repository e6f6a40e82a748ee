"""Rows exported per UTC day: members per account (their plan's ``export_rows_per_day``,
else ``EXPORT_ROWS_PER_DAY``: ``accounts.access.export_rows_per_day``), everyone else per
IP address.

Counted by ``portal.counters`` (Redis or the database, shared by every process, atomic:
parallel exports never reserve more than the quota between them). A request reserves its
rows before the file starts; if they do not fit in what is left, nothing is reserved and the
export is refused (429). An emailed export that fails gives its rows back.
"""

from __future__ import annotations

from django.conf import settings

from accounts.access import export_rows_per_day, membership_plan
from portal import counters


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the one the trusted proxies saw."""
    proxies = settings.ALLAUTH_TRUSTED_PROXY_COUNT
    forwarded = request.headers.get("X-Forwarded-For", "")
    if proxies > 0 and forwarded:
        hops = [h.strip() for h in forwarded.split(",")]
        if len(hops) >= proxies:
            return hops[-proxies][:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


class ExportQuota:
    def __init__(self, request, *, member: bool, user=None):
        """The quota of ``request``'s viewer; or, with ``user`` (a job, outside any request),
        that member's own."""
        if member:
            user = user or request.user
            self.limit = export_rows_per_day(user)
            self.plan = membership_plan(user)
            who = f"user:{user.pk}"
        else:
            self.plan = None
            self.limit = settings.EXPORT_PUBLIC_ROWS_PER_DAY
            who = f"ip:{client_ip(request)}"
        self.window = counters.Window.current(counters.DAY)  # the UTC day
        self.day = self.window.start.date()
        self.key = f"exports:rows:{who}"
        self.retry_after = self.window.seconds_left()

    def no_exports(self) -> str:
        """Why every export is refused while the limit is 0 (a plan with exports turned off)."""
        if self.plan is not None:
            return (
                f"Your {self.plan.name} plan includes no exports: its export quota is 0 rows a day."
            )
        return "Exports are turned off: the daily export quota is 0 rows."

    def used(self) -> int:
        return counters.value(self.key, self.window)

    def remaining(self) -> int:
        return max(0, self.limit - self.used())

    def reserve(self, rows: int) -> bool:
        """Count ``rows`` against today's quota, unless they do not fit (then nothing)."""
        return counters.take(self.key, self.window, rows, self.limit)

    def release(self, rows: int) -> None:
        """Give back ``rows`` reserved today (an export that failed)."""
        counters.give_back(self.key, self.window, rows)
