"""The catalogue's tasks under the names they were queued by; new code imports each task from
beside the code it runs (docs/jobs.md).

The database queue (django-tasks-db) stores a task's dotted path in its row and finds the
task again with ``import_string`` when a worker picks it up (``DBTaskResult.task``): rows
queued as ``incidents.tasks.<name>`` before the tasks moved must still resolve, so this
module only hands the task objects on. It defines nothing and imports nothing else.
"""

from .alerts import deliver_alerts
from .alerts import match_new_incidents_task as match_new_incidents
from .exports.jobs import make_export_task as make_export
from .exports.snapshot import build_public_snapshot
from .statistics.rollups import refresh_statistics

__all__ = [
    "build_public_snapshot",
    "deliver_alerts",
    "make_export",
    "match_new_incidents",
    "refresh_statistics",
]
