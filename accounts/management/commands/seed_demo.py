"""Load the taxonomy and demo data and create the demo accounts, for development.

Safe to run on every start: fixtures load only into empty tables (so edits made
in the admin survive) and existing accounts keep their data (demo staff without an
authenticator get the demo one). ``--no-demo-incidents`` (``make real-data``) leaves
the demo incidents out, and refuses a database that already holds them: a catalogue
of real data has no hand-written examples in it.
"""

import json
from datetime import timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Plan, Subscription, Team, TeamSeat

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - development accounts only
# The demo staff accounts' authenticator (development accounts only, like the password):
# add it to an authenticator app to sign in as staff where the bypass code is off.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPDEMOPORTALTWOSIX"  # noqa: S105
DEMO_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"
DEMO_ACCOUNTS = [
    # email, role, description
    ("staff@example.com", "staff", "staff (superuser, admin)"),
    ("editor@example.com", "editor", "staff in the Editors group (incidents only)"),
    ("member@example.com", "member", "active member (Individual plan, 1 year)"),
    ("expired@example.com", "expired", "expired member (ended 30 days ago)"),
    ("reader@example.com", "reader", "registered, never subscribed"),
    ("team@example.com", "team_owner", "owns the Demo SOC team (Team plan, 10 seats)"),
    ("analyst@example.com", "team_seat", "member through a seat on the Demo SOC team"),
]


class Command(BaseCommand):
    help = "Load demo fixtures into an empty database and create the demo accounts (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-accounts", action="store_true", help="Do not print the demo accounts table."
        )
        parser.add_argument(
            "--no-demo-incidents",
            action="store_true",
            help="Real data only: never load the demo incidents, and refuse a database "
            "that holds them.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo creates accounts with a known password: DEBUG only.")
        # The catalogue is reached by name only (accounts never imports incidents); the rows
        # loaddata writes change the catalogue's versions through the database's triggers.
        motives = apps.get_model("incidents", "Motive")._default_manager
        incidents = apps.get_model("incidents", "Incident")._default_manager
        if options["no_demo_incidents"] and incidents.filter(slug__in=demo_slugs()).exists():
            raise CommandError(
                "This database holds the demo incidents (fixtures/demo.json). A catalogue of "
                "real data has none: start from an empty database (delete db.sqlite3, or set "
                "DATABASE_URL to a new database) and run `make real-data` again."
            )
        with transaction.atomic():
            if not motives.exists():
                call_command("loaddata", "fixtures/taxonomy.json", verbosity=0)
                self.stdout.write("Loaded taxonomy (sectors, motives, actor types, ATT&CK).")
            if not options["no_demo_incidents"] and not incidents.exists():
                call_command("loaddata", "fixtures/demo.json", verbosity=0)
                self.stdout.write(f"Loaded {incidents.count()} demo incidents.")
            for email, role, _ in DEMO_ACCOUNTS:
                self.ensure_account(email, role)
        if not options["quiet_accounts"]:
            self.stdout.write("\nDemo accounts (development only), password: " + DEMO_PASSWORD)
            bypass = getattr(settings, "MFA_TOTP_INSECURE_BYPASS_CODE", "")
            self.stdout.write(
                "Staff sign in with two-factor authentication: "
                + (f"in development the code {bypass} is accepted, or " if bypass else "")
                + f"add the secret {DEMO_TOTP_SECRET} to an authenticator app."
            )
            for email, _, description in DEMO_ACCOUNTS:
                self.stdout.write(f"  {email:<22} {description}")
            self.stdout.write("")

    def ensure_account(self, email, role):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=email.split("@")[0], defaults={"email": email}
        )
        if created:
            self.set_up_account(user, email, role)
        # Staff must use two-factor authentication (also demo staff from before it).
        if user.is_staff and not Authenticator.objects.filter(user=user).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)

    def set_up_account(self, user, email, role):
        user.set_password(DEMO_PASSWORD)
        user.is_staff = role in ("staff", "editor")
        user.is_superuser = role == "staff"
        user.save()
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        if role == "editor":
            user.groups.add(Group.objects.get(name="Editors"))
        now = timezone.now()
        plan = Plan.objects.get(slug="individual")
        if role == "member":
            Subscription.objects.create(
                user=user,
                plan=plan,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=365),
                note="Demo member",
            )
        elif role == "team_owner":
            team_plan = Plan.objects.get(slug="team")
            team = Team.objects.create(name="Demo SOC team", owner=user, seats=team_plan.seats)
            TeamSeat.objects.create(team=team, user=user)
            Subscription.objects.create(
                user=user,
                plan=team_plan,
                team=team,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=365),
                note="Demo team",
            )
        elif role == "team_seat":
            team = Team.objects.filter(owner__email="team@example.com").first()
            if team is not None:
                TeamSeat.objects.get_or_create(team=team, user=user)
        elif role == "expired":
            Subscription.objects.create(
                user=user,
                plan=plan,
                status=Subscription.Status.EXPIRED,
                starts_at=now - timedelta(days=395),
                ends_at=now - timedelta(days=30),
                note="Demo expired member",
            )


def demo_slugs() -> list[str]:
    """The slugs of the demo incidents (their natural keys in fixtures/demo.json)."""
    rows = json.loads(DEMO_FIXTURE.read_text(encoding="utf-8"))
    return [r["fields"]["slug"] for r in rows if r["model"] == "incidents.incident"]
