from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incident catalogue"

    def ready(self):
        from .caching import connect_signals

        connect_signals()
