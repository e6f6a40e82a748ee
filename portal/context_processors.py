from django.conf import settings


def site(request):
    """The site's own address, for canonical and OpenGraph links."""
    return {"site_url": settings.SITE_URL}
