"""The team page under the account area, and the page an invitation link opens.

Neither shows catalogue data: the team's name, its people and seats only."""

from allauth.account.adapter import get_adapter
from allauth.core.ratelimit import consume_or_429
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods

from accounts.models import Plan
from portal.confirm import Question, ask, needs_confirmation

from . import services
from .forms import InvitationForm, InviteForm, RenameForm, SeatForm

# Invitations per signed-in user, counted in the default cache with allauth's rate limiter;
# a day's invitations are capped by portal.counters too (services.INVITATIONS_PER_DAY).
RATE_LIMITS = {"team_invite": "20/h/user"}
OWNER_ACTIONS = ("invite", "remove", "transfer", "revoke", "rename")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def team(request):
    """The owner's page (seats, invitations, removal, transfer), a seat holder's page
    (leave), or what a team plan offers to anyone else."""
    user = request.user
    owned = services.team_of_owner(user)
    invite_form = InviteForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "leave":
            if services.seat_of(user) is not None and needs_confirmation(request):
                return ask(request, LEAVE)
            return _leave(request)
        if owned is None:
            messages.error(request, "You do not own a team: there is nothing to change here.")
            return redirect("accounts:team")
        if action not in OWNER_ACTIONS:
            messages.error(request, "Nothing was changed: choose one of the page's buttons.")
            return redirect("accounts:team")
        if action in ("remove", "transfer") and needs_confirmation(request):
            question = _question(owned, action, request.POST)
            if question is not None:
                return ask(request, question)
        if action == "invite":
            limited = consume_or_429(request, action="team_invite", config=RATE_LIMITS)
            if limited:
                return limited
            invite_form = InviteForm(request.POST)
        status = 400
        try:
            done = _owner_action(request, owned, action, invite_form)
        except services.TeamError as refusal:
            messages.error(request, str(refusal))
            done = False
            if refusal.status == 429:  # the day's invitations, like the hour's: a 429
                status = 429
        if done:
            return redirect("accounts:team")
    context = {"invite_form": invite_form}
    if owned is not None:
        context["page"] = services.page_for(owned)
        context["rename_form"] = RenameForm(initial={"name": owned.name})
    else:
        context["seat"] = services.seat_of(user)
        context["team_plans"] = Plan.objects.filter(is_public=True, seats__gt=1)
    return render(request, "accounts/team.html", context, status=status)


LEAVE = Question(
    title="Leave the team?",
    consequence=(
        "You stop being a member through its seat at once. The owner can invite you again."
    ),
    button="Leave the team",
    back_url=reverse_lazy("accounts:team"),
)


def _question(owned, action, data) -> Question | None:
    """What removing a seat or handing the team over asks first (None: no such seat, which
    the action itself then refuses with its own message)."""
    form = SeatForm(data)
    seat = (
        owned.seat_rows.select_related("user").filter(pk=form.cleaned_data["seat"]).first()
        if form.is_valid()
        else None
    )
    if seat is None:
        return None
    who = seat.user.email
    if action == "remove":
        return Question(
            title=f"Remove {who} from the team?",
            consequence=(
                f"{who} stops being a member through this seat at once, and the seat is free "
                "for someone else. You can invite them again."
            ),
            button=f"Remove {who}",
            back_url=reverse("accounts:team"),
        )
    return Question(
        title=f"Make {who} the team's owner?",
        consequence=(
            f"{who} will manage the seats, invitations and the team's name, and buy its next "
            "plan; you keep your seat but can no longer manage the team. Only the new owner "
            "can hand it back."
        ),
        button=f"Make {who} the owner",
        back_url=reverse("accounts:team"),
    )


def _owner_action(request, owned, action, invite_form) -> bool:
    """Apply one of the owner's forms; True when done (messages say what happened)."""
    if action == "invite":
        if not invite_form.is_valid():
            return False
        invitation = services.invite(owned, invite_form.cleaned_data["email"], request.user)
        messages.success(
            request, f"Invitation sent to {invitation.email}. The link works once, for 7 days."
        )
        return True
    if action == "rename":
        form = RenameForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.errors["name"][0])
            return False
        services.rename(owned, form.cleaned_data["name"])
        messages.success(request, "Team renamed.")
        return True
    if action == "revoke":
        form = InvitationForm(request.POST)
        if not form.is_valid():
            return False
        services.revoke(owned, form.cleaned_data["invitation"])
        messages.success(request, "Invitation withdrawn: its link no longer works.")
        return True
    form = SeatForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose someone who holds a seat on your team.")
        return False
    if action == "remove":
        services.remove(owned, form.cleaned_data["seat"])
        messages.success(request, "Seat taken back: that person is no longer a member through it.")
    else:
        services.transfer(owned, form.cleaned_data["seat"])
        messages.success(request, "The team has a new owner. You keep your seat.")
    return True


def _leave(request):
    seat = services.seat_of(request.user)
    if seat is None:
        messages.error(request, "You hold no seat on a team.")
        return redirect("accounts:team")
    try:
        services.leave(request.user, seat.team)
    except services.TeamError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"You have left {seat.team.name}.")
    return redirect("accounts:team")


@require_http_methods(["GET", "HEAD", "POST"])
def join(request, token):
    """An invitation link: who invites, then sign up (the invited address counts as
    verified), log in, or join."""
    try:
        invitation = services.invitation_for(token)
    except services.TeamError as refusal:
        return _refused(request, refusal)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect(f"{request.path}")
        # allauth's signup treats this address as verified (the email reached it) and
        # fills it in.
        get_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, "accounts/team_join.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            seat = services.accept(token, request.user)
        except services.TeamError as refusal:
            return _refused(request, refusal)
        messages.success(request, f"Welcome to {seat.team.name}: you are a member now.")
        return redirect("accounts:team")
    return render(request, "accounts/team_join.html", {"invitation": invitation})


def _refused(request, refusal):
    return render(
        request, "accounts/team_join.html", {"refusal": str(refusal)}, status=refusal.status
    )
