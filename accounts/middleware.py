from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

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


class StaffMFAMiddleware:
    """Staff accounts must use two-factor authentication before they see or change anything."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.allowed = None

    def __call__(self, request):
        if self.allowed is None:
            self.allowed = {reverse(name) for name in MFA_SETUP_URL_NAMES}
        path = request.path_info
        if (
            path not in self.allowed
            and not path.startswith("/" + settings.STATIC_URL.lstrip("/"))
            and path not in ("/healthz", "/readyz")
            and must_set_up_mfa(request.user)
        ):
            messages.warning(
                request,
                "Staff accounts must use two-factor authentication. "
                "Set up an authenticator app to continue.",
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
