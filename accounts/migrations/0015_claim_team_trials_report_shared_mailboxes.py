"""Addresses read as mailboxes (accounts.addresses): the trials taken so far claimed again
under the new reading (and team trials for the first time, by their starters' addresses);
the accounts that already share a mailbox reported to staff (logged, and listed under
Shared mailboxes in the admin); every other stored address rewritten in its clean form
(``a@ｅxample.com`` as ``a@example.com``: the same mailbox, which mail already reached
through the ASCII form), so that sign-up finds it under any spelling. No account is merged
or deleted, and the addresses of accounts that share a mailbox are left as they are. The
reading of addresses is the one of December 2026, frozen in _frozen_addresses."""

import logging

from django.conf import settings
from django.db import migrations

from accounts.migrations._frozen_addresses import (
    clean,
    email_fingerprint,
    mailbox,
    shared_mailboxes,
)

log = logging.getLogger("accounts.addresses")


def _addresses(apps, user_ids):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    EmailAddress = apps.get_model("account", "EmailAddress")
    rows = set(User.objects.filter(pk__in=user_ids).values_list("pk", "email"))
    rows |= set(EmailAddress.objects.filter(user_id__in=user_ids).values_list("user_id", "email"))
    return rows


def claim_past_trials(apps, schema_editor):
    """The fingerprints of accounts.selfserve.trials, frozen in _frozen_addresses."""
    Subscription = apps.get_model("accounts", "Subscription")
    TrialClaim = apps.get_model("accounts", "TrialClaim")
    trials = Subscription.objects.filter(source="trial")
    for kind, started in (
        ("personal", trials.filter(team__isnull=True)),
        ("team", trials.filter(team__isnull=False)),
    ):
        user_ids = set(started.values_list("user_id", flat=True))
        fingerprints = {
            email_fingerprint(address)
            for _, address in _addresses(apps, user_ids)
            if address and "@" in address
        }
        TrialClaim.objects.bulk_create(
            [TrialClaim(fingerprint=f, kind=kind) for f in sorted(fingerprints)],
            ignore_conflicts=True,
        )


def report_shared_mailboxes(apps, schema_editor):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    EmailAddress = apps.get_model("account", "EmailAddress")
    SharedMailbox = apps.get_model("accounts", "SharedMailbox")
    rows = set(User.objects.values_list("pk", "email"))
    rows |= set(EmailAddress.objects.values_list("user_id", "email"))
    shared = shared_mailboxes(rows)
    SharedMailbox.objects.bulk_create(
        [
            SharedMailbox(mailbox=mailbox, user_id=user_id, address=address)
            for mailbox, pairs in shared.items()
            for user_id, address in pairs
        ],
        ignore_conflicts=True,
    )
    for mailbox, pairs in shared.items():
        log.warning(
            "Accounts %s reach one mailbox under the new reading of addresses; listed under "
            "Shared mailboxes in the admin for staff to decide (nothing was merged).",
            ", ".join(str(u) for u in sorted({user_id for user_id, _ in pairs})),
        )


def clean_stored_addresses(apps, schema_editor):
    User = apps.get_model(settings.AUTH_USER_MODEL)
    EmailAddress = apps.get_model("account", "EmailAddress")
    rows = set(User.objects.values_list("pk", "email"))
    rows |= set(EmailAddress.objects.values_list("user_id", "email"))
    shared = set(shared_mailboxes(rows))
    # Compared as allauth's unique index compares them: without regard to case.
    held = {email.casefold() for _, email in rows if email}
    cleaned = 0
    for model, owner in ((EmailAddress, "user_id"), (User, "pk")):
        for pk, account, email in model.objects.values_list("pk", owner, "email"):
            if not email or "@" not in email or clean(email) == email:
                continue
            if mailbox(email) in shared or clean(email).casefold() in held:
                continue  # reported, or that account holds the clean form already
            model.objects.filter(pk=pk).update(email=clean(email))
            cleaned += 1
    if cleaned:
        log.warning("%d stored addresses rewritten in their clean form.", cleaned)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_trial_claim_kinds_and_shared_mailboxes"),
        ("account", "0009_emailaddress_unique_primary_email"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(claim_past_trials, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(report_shared_mailboxes, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(clean_stored_addresses, migrations.RunPython.noop, elidable=True),
    ]
