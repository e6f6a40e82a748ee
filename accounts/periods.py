"""Calendar periods: a month or a year after a moment. The one place that knows how long a
billing interval is (invoice payments, and the provisional period of an online payment)."""

import calendar
from datetime import datetime

MONTHS = {"month": 1, "year": 12}


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months (31 January + 1 month = 28/29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(start: datetime, interval: str) -> datetime:
    """The end of one billing ``interval`` ("month" or "year") that starts at ``start``."""
    return add_months(start, MONTHS[interval])
