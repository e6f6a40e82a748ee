"""Retries and once-per-event for background tasks (docs/jobs.md).

Django's task API (django-tasks here, django.tasks from Django 6) records a task that raises as
failed and never runs it again, and runs a task enqueued twice twice. Two small additions:

- ``@retrying_task(attempts=5, backoff=timedelta(minutes=1))`` instead of ``@task``: a run that
  raises enqueues the next attempt, ``backoff`` later and twice as long each time, until
  ``attempts`` runs have failed. Each attempt is a task result of its own (the failed ones keep
  their traceback).
- ``run_once(key, side_effect)``: runs ``side_effect()`` unless it already completed for
  ``key`` (a message id, a payment event id, "digest:<alert>:<day>"). The key is recorded in
  the transaction that wraps the side effect, so its database writes and the record commit
  together or not at all.

A side effect outside the database (an email, an HTTP call) can still happen twice if the
process dies after it and before the commit; it never happens twice for a run that returned
or raised.
"""

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from portal.models import CompletedEvent

logger = logging.getLogger(__name__)

ATTEMPT_KWARG = "_attempt"


def retrying_task(*, attempts: int = 5, backoff: timedelta = timedelta(minutes=1), **options):
    """``@task(**options)`` whose failed runs are retried (see the module docstring).

    The next attempt is enqueued with an ``_attempt`` keyword argument, which the wrapped
    function never sees. A backend that cannot defer (the immediate one of the tests) runs
    it at once.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            attempt = kwargs.pop(ATTEMPT_KWARG, 1)
            try:
                return func(*args, **kwargs)
            except Exception:
                if attempt >= attempts:
                    logger.exception(
                        "Task %s failed on its last attempt (%d of %d)",
                        the_task.name,
                        attempt,
                        attempts,
                    )
                    raise
                delay = backoff * 2 ** (attempt - 1)
                logger.warning(
                    "Task %s failed (attempt %d of %d); next attempt in %s",
                    the_task.name,
                    attempt,
                    attempts,
                    delay,
                    exc_info=True,
                )
                retry = the_task
                if retry.get_backend().supports_defer:
                    retry = retry.using(run_after=timezone.now() + delay)
                retry.enqueue(*args, **kwargs, **{ATTEMPT_KWARG: attempt + 1})
                raise

        the_task = task(**options)(run)
        return the_task

    return decorate


def run_once(key: str, side_effect: Callable[[], object]) -> bool:
    """Run ``side_effect()`` unless it has completed for ``key`` before; True if it ran now.

    If ``side_effect`` raises, the key is not recorded (a retry runs it again). A run of the
    same key in another process waits for this transaction, then skips.
    """
    with transaction.atomic():
        _, created = CompletedEvent.objects.get_or_create(key=key)
        if not created:
            logger.info("Event %s already completed: skipped", key)
            return False
        side_effect()
    return True
