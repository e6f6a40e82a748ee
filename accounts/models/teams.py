"""Teams: seats on a team plan (accounts.teams). "Team", never "organisation": that word
means a victim of an incident."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Team(models.Model):
    """A customer account whose team-plan subscription gives a seat to several people. The
    owner manages it (invitations, removals, transfer) and holds one of its seats."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_teams"
    )
    seats = models.PositiveSmallIntegerField(
        default=1, help_text="Seats bought (the plan's seats, or those invoiced)"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="team_seats_min_1"),
            # accounts.teams.team_of_owner: one team per owner, found by its owner.
            models.UniqueConstraint(fields=["owner"], name="team_one_per_owner"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("accounts:team")


class TeamSeat(models.Model):
    """One person's membership through a team (while the team's subscription is active)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="seat_rows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_seats"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at", "pk"]
        constraints = [
            # accounts.access.is_member joins seats by user; one seat per person and team.
            models.UniqueConstraint(fields=["user", "team"], name="team_seat_once_per_user"),
        ]

    def __str__(self):
        return f"{self.user} on {self.team}"


class TeamInvitation(models.Model):
    """An invitation by email to take a seat: its link is signed and expires
    (accounts.teams), and the row makes it single-use (``accepted_at``)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The team page: a team's open invitations.
            models.Index(fields=["team", "accepted_at"], name="team_invitation_open_idx"),
        ]

    def __str__(self):
        return f"Invitation of {self.email} to {self.team}"
