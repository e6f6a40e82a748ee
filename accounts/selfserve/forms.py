from django import forms
from django_countries import countries

from accounts.models import InvoiceRequest, Plan

from .vat import normalise_vat_id, vat_id_error

MAX_SEATS = 500


class InvoiceRequestForm(forms.ModelForm):
    # Typed, not picked from a list: the full list of country names would put the names of
    # threat actors' (members-only) locations on a page every reader can open.
    country = forms.CharField(
        max_length=60,
        help_text="The country's name in English or its two-letter code (DE, FR, …).",
    )

    class Meta:
        model = InvoiceRequest
        fields = [
            "interval",
            "seats",
            "company_name",
            "billing_address",
            "country",
            "vat_id",
            "billing_email",
            "purchase_order",
        ]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "vat_id": "EU businesses: with the country prefix, e.g. DE123456789.",
            "billing_email": "Where the invoice goes, if not to your account's address.",
        }

    def __init__(self, *args, plan: Plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields["seats"].min_value = 1
        self.fields["seats"].max_value = MAX_SEATS
        if plan.interval in InvoiceRequest.Interval.values:
            self.fields["interval"].initial = plan.interval
        if plan.is_team_plan:
            self.fields["seats"].initial = plan.seats
        else:
            self.fields["seats"].disabled = True
            self.fields["seats"].help_text = "This plan is for one person."

    def clean_country(self):
        typed = self.cleaned_data["country"].strip()
        code = countries.alpha2(typed) if len(typed) == 2 else countries.by_name(typed)
        if not code:
            raise forms.ValidationError("Enter a country's name in English or its two-letter code.")
        return code

    def clean_vat_id(self):
        return normalise_vat_id(self.cleaned_data["vat_id"])

    def clean(self):
        cleaned = super().clean()
        vat_id, country = cleaned.get("vat_id"), cleaned.get("country")
        if vat_id and country:
            error = vat_id_error(vat_id, str(country))
            if error:
                self.add_error("vat_id", error)
        return cleaned

    def save(self, commit=True):
        self.instance.plan = self.plan
        return super().save(commit=commit)


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label="I understand that my account and membership end now and cannot be restored."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("This is not your password.")
        return password
