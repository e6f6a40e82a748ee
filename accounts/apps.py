from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


def sync_site(sender, using="default", **kwargs):
    """Keep the Sites row in step with DJANGO_SITE_DOMAIN on every deploy's migrate."""
    # apps.py is imported while the app registry fills: no model may be imported at its top.
    from django.contrib.sites.models import Site

    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": settings.SITE_DOMAIN, "name": settings.SITE_NAME}
    )


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Membership"

    def ready(self):
        post_migrate.connect(sync_site, sender=self)
