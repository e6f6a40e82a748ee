from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from .access import must_set_up_mfa

# What a staff user without an authenticator may still reach: setting one up,
# re-entering their password for it, and leaving.
MFA_SETUP_URL_NAMES = (
    "mfa_activate_totp",
    "mfa_index",
    "mfa_reauthenticate",
    "account_reauthenticate",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "account_logout",
)


# Pages that show nothing of the catalogue.
UNGUARDED_URL_NAMES = ("healthz", "readyz", "favicon", "robots_txt")


class StaffMFAMiddleware:
    """Staff accounts must use two-factor authentication before they see or change anything."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if must_set_up_mfa(request.user) and not _allowed(request.path_info):
            messages.warning(
                request,
                "Staff accounts must use two-factor authentication. "
                "Set up an authenticator app to continue.",
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def _allowed(path_info):
    if path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    try:
        name = resolve(path_info).url_name
    except Resolver404:
        return False
    return name in MFA_SETUP_URL_NAMES or name in UNGUARDED_URL_NAMES
