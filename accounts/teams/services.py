"""Everything that changes a team: attaching a purchase, invitations, seats, ownership.

Seat limits hold under concurrent joins: every change of a team's seats first locks the
team's row (``select_for_update``), so two invitees racing for the last seat take turns and
the second finds it gone.
"""

from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import addresses
from accounts.emails import enqueue_email
from accounts.models import Subscription, Team, TeamInvitation, TeamSeat
from portal import counters

from .names import name_error

INVITATION_SALT = "accounts.teams.invitation"
INVITATION_MAX_AGE = timedelta(days=7)
# Invitations an owner may send in a UTC day (besides the views' 20 an hour): this many, or
# as many as the team's seats when it has more; counted by portal.counters, one atomic
# step, in the invitation's transaction when the counters are in the database.
INVITATIONS_PER_DAY = 50


class TeamError(Exception):
    """Why a team action was refused, in words for the reader, with the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# -- reading ------------------------------------------------------------------------------


def team_of_owner(user):
    if not user.is_authenticated:
        return None
    return Team.objects.filter(owner=user).first()


def seat_of(user):
    """The user's seat (on the team they joined last), with its team and owner."""
    if not user.is_authenticated:
        return None
    return (
        TeamSeat.objects.filter(user=user)
        .select_related("team__owner")
        .order_by("-joined_at", "-pk")
        .first()
    )


def active_seat_elsewhere(user):
    """A seat ``user`` holds on a team they do not own whose membership is active, if any."""
    paid_for = Subscription.objects.active().filter(team__isnull=False).values("team")
    return (
        TeamSeat.objects.filter(user=user, team__in=paid_for)
        .exclude(team__owner=user)
        .select_related("team")
        .first()
    )


def verified_address(user) -> str | None:
    """The address ``user`` has verified (their primary one first), shown to those they
    invite."""
    return (
        EmailAddress.objects.filter(user=user, verified=True)
        .order_by("-primary", "pk")
        .values_list("email", flat=True)
        .first()
    )


def team_subscription(team):
    """The subscription that makes the team's seats count now, if any."""
    return (
        Subscription.objects.active()
        .filter(team=team)
        .select_related("plan")
        .order_by("-ends_at")
        .first()
    )


@dataclass(frozen=True)
class TeamPage:
    """What the owner's page shows: no catalogue data, only the team's own people."""

    team: Team
    subscription: Subscription | None
    seats: list
    invitations: list

    @property
    def used(self) -> int:
        return len(self.seats)

    @property
    def free(self) -> int:
        return max(self.team.seats - self.used, 0)

    @property
    def payer_id(self):
        """Who pays for the team's membership now: their seat stays while it lasts."""
        return self.subscription.user_id if self.subscription else None


def page_for(team) -> TeamPage:
    return TeamPage(
        team=team,
        subscription=team_subscription(team),
        seats=list(team.seat_rows.select_related("user").order_by("joined_at", "pk")),
        invitations=list(
            team.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
            .filter(created_at__gt=timezone.now() - INVITATION_MAX_AGE)
            .order_by("-created_at")
        ),
    )


# -- a purchase ---------------------------------------------------------------------------


def attach(subscription: Subscription, *, seats: int | None = None) -> None:
    """Make a subscription of a team plan the team's: the buyer's team (created, with the
    buyer's seat, on their first team purchase). ``seats``: as many as were bought, when not
    the plan's. One switched to a personal plan is the buyer's own again. The caller saves
    the subscription."""
    if not subscription.plan.is_team_plan:
        subscription.team = None
        return
    if subscription.team_id is not None or subscription.status in Subscription.ENDED_STATUSES:
        return  # (an ended one whose team was deleted with its owner gets no new team)
    user = subscription.user
    team, _ = Team.objects.get_or_create(owner=user, defaults={"name": default_name(user)})
    TeamSeat.objects.get_or_create(team=team, user=user)
    wanted = max(seats or subscription.plan.seats, 1)
    if team.seats != wanted:
        team.seats = wanted
        team.save(update_fields=["seats"])
    subscription.team = team


def default_name(user) -> str:
    """Plain words (no address: a team's name goes into invitations as it is)."""
    return "Our team"


def rename(team: Team, name: str) -> None:
    team.name = name
    team.save(update_fields=["name"])


# -- invitations --------------------------------------------------------------------------


def invite(team: Team, email: str, invited_by) -> TeamInvitation:
    """Invite ``email`` to a seat and queue the email with its link, which names the
    inviter by their verified address."""
    email = addresses.clean(email)
    inviter = verified_address(invited_by)
    if inviter is None:
        raise TeamError(
            "Verify your email address first: invitations show it to the people you invite."
        )
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if team_subscription(team) is None:
            raise TeamError("Your team's membership is not active: renew it before inviting.")
        if any(addresses.same_mailbox(email, held) for held in _seat_addresses(team)):
            raise TeamError(f"{email} already holds a seat on your team.")
        if team.seat_rows.count() >= team.seats:
            raise TeamError("Every seat is taken: remove someone before inviting.")
        per_day = max(INVITATIONS_PER_DAY, team.seats)
        if not counters.take(invitations_counter(invited_by), _today(), 1, per_day):
            raise TeamError(
                f"You have sent {per_day} invitations today (UTC), the most a day: "
                "send the next ones tomorrow.",
                429,
            )
        # Inviting an address again sends a new link; the older one stops working.
        open_invitations = TeamInvitation.objects.filter(
            team=team, accepted_at__isnull=True, revoked_at__isnull=True
        )
        TeamInvitation.objects.filter(
            pk__in=[
                pk
                for pk, sent_to in open_invitations.values_list("pk", "email")
                if addresses.same_mailbox(email, sent_to)
            ]
        ).update(revoked_at=timezone.now())
        invitation = TeamInvitation.objects.create(team=team, email=email, invited_by=invited_by)
        token = signing.dumps(invitation.pk, salt=INVITATION_SALT)
        enqueue_email(
            email,
            "team_invitation",
            {
                # A name from before names were checked, with an address in it, stays out.
                "team_name": "" if name_error(team.name) else team.name,
                "inviter": inviter,
                "join_path": reverse("accounts:team_join", args=[token]),
                "expires_at": invitation.created_at + INVITATION_MAX_AGE,
            },
            key=f"team.invitation.{invitation.pk}",
        )
    return invitation


def invitations_counter(user) -> str:
    """The counter of ``user``'s invitations (portal.counters), per UTC day."""
    return f"team-invitations:{user.pk}"


def _today() -> counters.Window:
    return counters.Window.current(counters.DAY)


def _seat_addresses(team: Team) -> set[str]:
    held = set(
        EmailAddress.objects.filter(user__team_seats__team=team).values_list("email", flat=True)
    )
    return held | set(team.seat_rows.values_list("user__email", flat=True))


def revoke(team: Team, invitation_id) -> None:
    TeamInvitation.objects.filter(team=team, pk=invitation_id, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def invitation_for(token: str) -> TeamInvitation:
    """The open invitation a link stands for; raises TeamError (a clear page) otherwise."""
    try:
        pk = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise TeamError(
            "This invitation has expired: ask the team's owner for a new one.", 410
        ) from None
    except signing.BadSignature:
        raise TeamError(
            "This invitation link is not valid: check that it was copied whole.", 404
        ) from None
    invitation = TeamInvitation.objects.select_related("team").filter(pk=pk).first()
    if invitation is None:
        raise TeamError("This invitation no longer exists: its team may have been closed.", 410)
    if invitation.accepted_at is not None:
        raise TeamError("This invitation has been used already: each link works once.", 410)
    if invitation.revoked_at is not None:
        raise TeamError("This invitation was withdrawn by the team's owner.", 410)
    return invitation


def accept(token: str, user) -> TeamSeat:
    """Take the seat an invitation offers, once, for the address it was sent to."""
    with transaction.atomic():
        invitation = invitation_for(token)
        # Lock the team first: every change of its seats waits here for the one before.
        team = Team.objects.select_for_update().get(pk=invitation.team_id)
        invitation = TeamInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise TeamError("This invitation has been used already: each link works once.", 410)
        verified = EmailAddress.objects.filter(user=user, verified=True)
        if not any(
            addresses.same_mailbox(invitation.email, email)
            for email in verified.values_list("email", flat=True)
        ):
            raise TeamError(
                "This invitation was sent to another email address. Sign in with the address "
                "it was sent to (or add and verify it under Email addresses).",
                403,
            )
        if team_subscription(team) is None:
            raise TeamError("This team's membership is not active just now: no seat to take.", 409)
        seat = TeamSeat.objects.filter(team=team, user=user).first()
        if seat is None:
            if _seats_taken(team) >= team.seats:
                raise TeamError("Every seat of this team is taken: ask its owner for one.", 409)
            seat = TeamSeat.objects.create(team=team, user=user)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return seat


def _seats_taken(team: Team) -> int:
    return TeamSeat.objects.filter(team=team).count()


# -- seats and ownership ------------------------------------------------------------------


def remove(team: Team, seat_id) -> None:
    """The owner takes a seat back: its holder's access ends with their next request."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        seat = TeamSeat.objects.filter(team=team, pk=seat_id).select_related("user").first()
        if seat is None:
            raise TeamError("That person holds no seat on your team.", 404)
        if seat.user_id == team.owner_id:
            raise TeamError("You own the team: transfer it to someone before giving up your seat.")
        paying = team_subscription(team)
        if paying is not None and paying.user_id == seat.user_id:
            raise TeamError(
                f"{seat.user.email} pays for the team's membership: their seat stays while "
                "that subscription lasts (they may leave the team themselves)."
            )
        seat.delete()


def leave(user, team: Team) -> None:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if team.owner_id == user.pk:
            raise TeamError("You own the team: transfer it to someone before leaving.")
        TeamSeat.objects.filter(team=team, user=user).delete()


def transfer(team: Team, seat_id) -> None:
    """Hand the team to the holder of another seat (the subscription stays with its buyer
    until it ends; the new owner buys the next one)."""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        seat = TeamSeat.objects.filter(team=team, pk=seat_id).select_related("user").first()
        if seat is None or seat.user_id == team.owner_id:
            raise TeamError("Choose someone who holds a seat on your team.", 404)
        team.owner = seat.user
        try:
            with transaction.atomic():
                team.save(update_fields=["owner"])
        except IntegrityError:
            raise TeamError(f"{seat.user.email} owns another team already.") from None
