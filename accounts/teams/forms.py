from django import forms

from .names import name_error


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Colleague's email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class RenameForm(forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=100,
        error_messages={
            "required": "Give the team a name.",
            "max_length": "Give the team a name of up to 100 characters.",
        },
        help_text="Plain words: it appears in the invitations you send.",
    )

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the team a name.")
        error = name_error(name)
        if error:
            raise forms.ValidationError(error)
        return name


class SeatForm(forms.Form):
    """Remove someone, or transfer the team to them: the seat is the one field."""

    seat = forms.IntegerField(min_value=1)


class InvitationForm(forms.Form):
    invitation = forms.IntegerField(min_value=1)
