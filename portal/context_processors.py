from django.conf import settings


def site(request):
    """The site's own address and this page's path, for canonical and OpenGraph links."""
    return {"site_url": settings.SITE_URL, "page_path": request.path}
