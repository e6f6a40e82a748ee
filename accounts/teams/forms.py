from django import forms


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Colleague's email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class RenameForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=100)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the team a name.")
        return name


class SeatForm(forms.Form):
    """Remove someone, or transfer the team to them: the seat is the one field."""

    seat = forms.IntegerField(min_value=1)


class InvitationForm(forms.Form):
    invitation = forms.IntegerField(min_value=1)
