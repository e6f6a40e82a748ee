"""Contact and corrections: a form that reaches staff by email, sent by the job queue."""

from allauth.core.ratelimit import consume_or_429
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .emails import enqueue_email

# Counted in the shared cache by allauth's rate limiter, per client address.
RATE_LIMITS = {"contact": "5/h/ip"}
MAX_MESSAGE = 5000


class ContactForm(forms.Form):
    TOPICS = [
        ("correction", "A correction to an incident"),
        ("question", "A question about the catalogue or membership"),
        ("other", "Something else"),
    ]
    topic = forms.ChoiceField(label="About", choices=TOPICS)
    name = forms.CharField(label="Your name", max_length=200)
    email = forms.EmailField(label="Your email", help_text="We reply to this address.")
    page = forms.URLField(
        label="Page it concerns",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="For a correction: the incident's address, e.g. https://…/incidents/2024-02-acme/",
    )
    message = forms.CharField(label="Message", max_length=MAX_MESSAGE, widget=forms.Textarea)


def staff_recipients() -> list[str]:
    """CONTACT_EMAIL if set, else every active staff account's email address."""
    if settings.CONTACT_EMAIL:
        return [settings.CONTACT_EMAIL]
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return sorted(set(staff.values_list("email", flat=True)))


@require_http_methods(["GET", "HEAD", "POST"])
def contact(request):
    status = 200
    if request.method == "POST":
        limited = consume_or_429(request, action="contact", config=RATE_LIMITS)
        if limited:
            return limited
        form = ContactForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            topic = dict(ContactForm.TOPICS)[data["topic"]]
            with transaction.atomic():
                for to in staff_recipients():
                    enqueue_email(to, "contact", {**data, "topic_label": topic})
            messages.success(request, "Thank you: your message has reached the editors.")
            return redirect("contact")
        status = 400
    else:
        form = ContactForm(initial={"topic": request.GET.get("topic", "")})
    return render(request, "pages/contact.html", {"form": form}, status=status)
