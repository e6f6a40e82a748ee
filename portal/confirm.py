"""A destructive action asks first, on a page of its own (it works without JavaScript).

A form that removes, hands over or revokes something posts as it always did; the view asks
``needs_confirmation(request)`` and, until the post carries ``confirm=yes``, answers
``ask(...)``: a page that says what will happen, with a button that posts the same fields
again plus ``confirm=yes``, and a way back. Nothing changes until then.
"""

from dataclasses import dataclass

from django.shortcuts import render

CONFIRM_FIELD = "confirm"
_NOT_REPEATED = {"csrfmiddlewaretoken", CONFIRM_FIELD}


def needs_confirmation(request) -> bool:
    """True while a POST has not been confirmed on the page ``ask`` renders."""
    return request.POST.get(CONFIRM_FIELD) != "yes"


@dataclass(frozen=True)
class Question:
    title: str  # "Revoke the token “laptop”?"
    consequence: str  # what happens, in a sentence or two
    button: str  # "Revoke the token"
    back_url: str  # where "Keep it" leads


def ask(request, question: Question, *, status: int = 200):
    """The confirmation page for this POST: its fields posted again with ``confirm=yes``."""
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _NOT_REPEATED
        for value in values
    ]
    context = {"question": question, "fields": fields, "action": request.get_full_path()}
    return render(request, "confirm.html", context, status=status)
