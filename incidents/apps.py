from django.apps import AppConfig
from django.db.models.signals import post_delete

from accounts import personal_data


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incident catalogue"

    def ready(self):
        # apps.py is imported before the models exist: what needs them is imported here.
        from . import personal_data as ours
        from .exports.jobs import delete_file_of
        from .models import ExportJob

        post_delete.connect(delete_file_of, sender=ExportJob, dispatch_uid="exportjob-file")
        # "Your data" (accounts.selfserve.account_data): what the catalogue holds about a user.
        personal_data.register("saved_searches", ours.saved_searches)
        personal_data.register("watched_organisations", ours.watched_organisations)
        personal_data.register("export_jobs", ours.export_jobs)
