from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.views.generic import TemplateView

from accounts.contact import contact
from incidents import views as incidents_views
from incidents.api import urls as api_urls
from incidents.sitemaps import sitemaps

from . import views

admin.site.site_header = "Cyber Incident Portal administration"
admin.site.site_title = "Incident Portal admin"
# The lists need the width (incidents with their status and dataset, subscriptions at 1280 px);
# the app list stays on the admin's home page and in the breadcrumbs.
admin.site.enable_nav_sidebar = False
# The admin signs in through the site's login (two-factor step and rate limits included).
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", incidents_views.home, name="home"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("data/", incidents_views.data_sources, name="data_sources"),
    path("about/", TemplateView.as_view(template_name="pages/about.html"), name="about"),
    path(
        "methodology/",
        TemplateView.as_view(template_name="pages/methodology.html"),
        name="methodology",
    ),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"), name="privacy"),
    path("terms/", TemplateView.as_view(template_name="pages/terms.html"), name="terms"),
    path("contact/", contact, name="contact"),
    path("sitemap.xml", sitemap_views.index, {"sitemaps": sitemaps}, name="sitemap_index"),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": sitemaps},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("", include("incidents.urls")),
    path("api/v1/", api_urls()),
    path("accounts/", include("accounts.urls")),
    path("", include("accounts.billing.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler429 = "portal.views.too_many_requests"
handler500 = "portal.views.server_error"
