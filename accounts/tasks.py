"""The tasks' old addresses. Each task now sits beside the code it runs (docs/jobs.md); this
module only names them again where the previous release defined them.

The database queue stores a task by its dotted path (``DBTaskResult.task_path``) and the worker
imports that path when it runs the row (django_tasks_db's ``DBTaskResult.task``,
``import_string``). Rows queued before the deploy that moved them name ``accounts.tasks.<name>``
and find the moved task object here. Nothing in the code imports this module: delete it once
no queued or retried row names it (``DBTaskResult.objects.filter(task_path__startswith=
"accounts.tasks.")`` finds none among the unfinished ones).
"""

from accounts.billing.tasks import (
    cancel_online_subscription,
    end_lapsed_access,
    send_renewal_reminders,
)
from accounts.emails import send_email
from accounts.selfserve.tasks import send_trial_reminders

__all__ = [
    "cancel_online_subscription",
    "end_lapsed_access",
    "send_email",
    "send_renewal_reminders",
    "send_trial_reminders",
]
