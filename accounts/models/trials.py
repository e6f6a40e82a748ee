"""Trials, their claims (once per person and per team), and the mailboxes several accounts share."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .plans import Plan, Subscription


class Trial(models.Model):
    """A free trial taken: at most one per person (``user``) and one per team (``team``, with
    no user: a team's trial is not its owner's own), ever."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="trials"
    )
    team = models.ForeignKey(
        "Team", on_delete=models.CASCADE, null=True, blank=True, related_name="trials"
    )
    subscription = models.OneToOneField(
        Subscription, on_delete=models.SET_NULL, null=True, related_name="trial"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="trials")
    started_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # accounts.selfserve.trials.start_trial: two requests racing for a second trial,
            # the loser fails here.
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="trial_once_per_user"
            ),
            # accounts.selfserve.trials.start_trial for a team plan: the same, per team.
            models.UniqueConstraint(
                fields=["team"], condition=Q(team__isnull=False), name="trial_once_per_team"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("started_at")), name="trial_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"Trial of {self.plan} for {self.user}"


class TrialClaim(models.Model):
    """A free trial taken by an email address, kept after the account is deleted so that the
    trial stays once per person: only a keyed hash of the normalised address
    (accounts.selfserve.trials.email_fingerprint), which cannot be turned back into it. A
    person's own trial and the trial of a team they own are claimed apart: one of each."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal trial"
        TEAM = "team", "Team trial (claimed by its owner's address)"

    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PERSONAL)
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # accounts.selfserve.trials.start_trial: a second trial of a kind for the same
            # address, even from a new account, fails here.
            models.UniqueConstraint(fields=["fingerprint", "kind"], name="trial_claim_unique"),
        ]

    def __str__(self):
        return f"Trial claimed {self.claimed_at:%Y-%m-%d}"


class SharedMailbox(models.Model):
    """An account whose address reaches the same mailbox (accounts.addresses.mailbox) as
    another account's, found when addresses began to be read as mailboxes (migration 0015):
    one row per account, for staff to decide. Nothing is merged or deleted for it."""

    mailbox = models.CharField(max_length=320, help_text="The mailbox the accounts share")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_mailboxes"
    )
    address = models.CharField(max_length=320, help_text="The account's address, as stored")
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when staff have dealt with it"
    )

    class Meta:
        ordering = ["mailbox", "user_id"]
        verbose_name = "shared mailbox"
        constraints = [
            # The migration's report: one row per account and mailbox, however often it runs.
            models.UniqueConstraint(fields=["mailbox", "user"], name="shared_mailbox_once"),
        ]

    def __str__(self):
        return f"{self.address} (account {self.user_id}) shares {self.mailbox}"
