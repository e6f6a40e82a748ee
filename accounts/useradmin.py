"""The users' admin: Django's, with the user's subscriptions, and the one reading of email
addresses (accounts.addresses) that sign-up and email changes go through: staff cannot give
an account an address whose mailbox another account holds, and addresses are stored clean."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from . import addresses
from .adapter import held_address
from .models import Subscription

User = get_user_model()


class MailboxRule:
    """``clean_email`` for a user's form: the clean form of the address, refused when
    another account holds its mailbox (``a+x@Example.com`` is ``a@example.com``'s)."""

    def clean_email(self):
        email = self.cleaned_data.get("email") or ""
        if not email or (self.instance.pk and email == self.instance.email):
            return email  # kept as it is (an account reported as sharing a mailbox, too)
        email = addresses.clean(email)
        held = held_address(email, other_than=self.instance.pk)
        if held is not None:
            raise forms.ValidationError(
                f"Another account already holds this mailbox (as {held}): one mailbox, one account."
            )
        return email


class UserCreation(MailboxRule, AdminUserCreationForm):
    """The email address is the login (allauth), so a new user needs one."""

    email = forms.EmailField(required=True)

    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")


class UserChange(MailboxRule, UserChangeForm):
    pass


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["plan", "status", "source", "starts_at", "ends_at", "note"]
    show_change_link = True


admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Django's user admin, plus the user's subscriptions (grant one with "add another")."""

    form = UserChange
    add_form = UserCreation
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
    )
    inlines = [SubscriptionInline]
