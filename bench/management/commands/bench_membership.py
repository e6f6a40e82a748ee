"""Benchmark of the two queries behind every member's request (docs/performance.md): the
plan that makes a user a member (``accounts.access.membership_plan``) and the API token
with its owner (``accounts.tokens.resolve``), timed in process per call.

Creates ``--users`` users once (marked by their email domain, kept for later runs): a
third with their own subscription (active, trialing, overdue in grace, expired, cancelled,
future), a third holding a seat on one of the teams (half of the teams subscribed), a third
without any; then times ``--calls`` calls for each kind of viewer, with nothing remembered on
the user object between calls (as at each request), ``--repeat`` times, and prints the best
and the median per call of the wall time and of this process's CPU time (the CPU time is
Django's own work, and the steadier figure on a busy machine), and the Python function
calls per call (cProfile's count over one more run: the same on a busy machine as on a quiet
one). ``--clean`` removes what it made. Run it with ``DJANGO_DEBUG=1`` (which installs the
bench app; its query log is off while it times).

``membership_plan`` keeps each user's answer in the "pages" cache (accounts.access): after
the first call each call below is a cache hit, as at a member's every request but one in
five minutes, and reads the versions once a second (settings.VERSION_SECONDS), as a server
does. ``--uncached`` times it inside a transaction, where it asks the database each time.
"""

import cProfile
import datetime
import pstats
import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone

from accounts import access, tokens
from accounts.models import ApiToken, Plan, Subscription, Team, TeamSeat

DOMAIN = "bench-membership.invalid"
DAY = datetime.timedelta(days=1)
# What accounts.access remembers on the user object for one request.
REMEMBERED = ("_portal_is_member", "_portal_membership_plan")


class Command(BaseCommand):
    help = "Time membership_plan(user) and tokens.resolve(raw) per call, in process."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=6000)
        parser.add_argument("--calls", type=int, default=2000)
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--clean", action="store_true")
        parser.add_argument(
            "--uncached", action="store_true", help="membership_plan inside a transaction"
        )

    def handle(self, *args, **options):
        # DEBUG (which installs this app) logs every query: that is not what is timed.
        with override_settings(DEBUG=False):
            self.run(**options)

    def run(self, *, users, calls, repeat, clean, uncached, **options):
        User = get_user_model()
        if clean:
            Subscription.objects.filter(user__email__endswith=DOMAIN).delete()
            User.objects.filter(email__endswith=DOMAIN).delete()
            Plan.objects.filter(slug__startswith="bench-membership").delete()
            return
        if not User.objects.filter(email__endswith=DOMAIN).exists():
            self.populate(users)
        viewers = self.viewers()
        self.stdout.write(
            f"{connection.vendor}, {User.objects.count()} users, "
            f"{Subscription.objects.count()} subscriptions, {Team.objects.count()} teams, "
            f"{TeamSeat.objects.count()} seats; {calls} calls x {repeat}"
        )
        for name, user in viewers.items():
            expected = access.membership_plan(user)
            self.forget(user)

            def call(user=user):
                self.forget(user)
                access.membership_plan(user)

            if uncached:
                with transaction.atomic():
                    self.report(f"membership_plan, {name} ({expected})", call, calls, repeat)
            else:
                self.report(f"membership_plan, {name} ({expected})", call, calls, repeat)

        owner = viewers["own subscription"]
        made, raw = tokens.create(owner, "bench")
        try:
            if tokens.resolve(raw).user_id != owner.pk:
                raise CommandError("the token did not resolve to its owner")
            self.report("tokens.resolve, active token", lambda: tokens.resolve(raw), calls, repeat)
            unknown = raw[:-1] + ("A" if raw[-1] != "A" else "B")
            self.report(
                "tokens.resolve, unknown token", lambda: tokens.resolve(unknown), calls, repeat
            )
        finally:
            ApiToken.objects.filter(pk=made.pk).delete()

    def forget(self, user):
        for attr in REMEMBERED:
            user.__dict__.pop(attr, None)

    def report(self, name, call, calls, repeat):
        """Per call: the wall time, and this process's CPU time (what building, running and
        reading the query costs Django; PostgreSQL's own work is in the wall time only)."""
        call()  # a first call: whatever is built once per process
        wall, cpu = [], []
        for _ in range(repeat):
            cpu_0, wall_0 = time.process_time(), time.perf_counter()
            for _ in range(calls):
                call()
            wall.append((time.perf_counter() - wall_0) / calls * 1000)
            cpu.append((time.process_time() - cpu_0) / calls * 1000)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(calls):
            call()
        profile.disable()
        function_calls = pstats.Stats(profile).total_calls / calls
        self.stdout.write(
            f"{name:66} wall {min(wall):.3f}/{statistics.median(wall):.3f} ms, "
            f"cpu {min(cpu):.3f}/{statistics.median(cpu):.3f} ms (best/median), "
            f"{function_calls:.0f} function calls"
        )

    def viewers(self):
        """One fresh user object of each kind (as a request loads it)."""
        User = get_user_model()
        now = timezone.now()
        mine = Subscription.objects.active().filter(user__email__endswith=DOMAIN, team__isnull=True)
        seated = TeamSeat.objects.filter(
            user__email__endswith=DOMAIN, team__subscriptions__in=Subscription.objects.active()
        ).exclude(team__owner=F("user"))
        return {
            "own subscription": User.objects.get(pk=mine.values("user")[:1]),
            "seat on a subscribed team": User.objects.get(pk=seated.values("user")[:1]),
            "expired subscription": User.objects.get(
                pk=Subscription.objects.filter(
                    user__email__endswith=DOMAIN, status="active", ends_at__lt=now
                ).values("user")[:1]
            ),
            "no subscription": User.objects.filter(
                email__endswith=DOMAIN, subscriptions=None, team_seats=None
            ).first(),
        }

    @transaction.atomic
    def populate(self, n):
        User = get_user_model()
        now = timezone.now()
        personal = Plan.objects.create(name="Bench membership", slug="bench-membership")
        team_plan = Plan.objects.create(
            name="Bench membership team", slug="bench-membership-team", seats=10
        )
        people = User.objects.bulk_create(
            User(username=f"bm{i}@{DOMAIN}", email=f"bm{i}@{DOMAIN}") for i in range(n)
        )
        own, seated = people[: n // 3], people[n // 3 : 2 * n // 3]
        S = Subscription.Status
        kinds = [
            {"status": S.ACTIVE},
            {"status": S.TRIALING},
            {"status": S.PAST_DUE, "ends_at": now - DAY, "grace_ends_at": now + 5 * DAY},
            {"status": S.ACTIVE, "ends_at": now - DAY},
            {"status": S.CANCELLED},
            {"status": S.ACTIVE, "starts_at": now + DAY},
        ]
        Subscription.objects.bulk_create(
            Subscription(
                user=user,
                plan=personal,
                **{"starts_at": now - 30 * DAY, "ends_at": now + 300 * DAY, **kinds[i % 6]},
            )
            for i, user in enumerate(own)
        )
        teams = Team.objects.bulk_create(
            Team(name=f"Bench team {i}", owner=seated[i], seats=10)
            for i in range(0, len(seated), 10)
        )
        TeamSeat.objects.bulk_create(
            TeamSeat(team=teams[i // 10], user=user) for i, user in enumerate(seated)
        )
        Subscription.objects.bulk_create(
            Subscription(
                user=team.owner,
                plan=team_plan,
                team=team,
                starts_at=now - 30 * DAY,
                ends_at=now + 300 * DAY,
            )
            for team in teams[::2]
        )
