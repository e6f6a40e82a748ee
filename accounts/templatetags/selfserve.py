"""The membership page's trial and invoice block (templates/accounts/includes/
_trial_and_invoice.html) asks here what to offer the viewer."""

from django import template

from accounts.selfserve.trials import offer_for

register = template.Library()


@register.simple_tag
def trial_offer(user):
    return offer_for(user)
