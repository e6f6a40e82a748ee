import datetime
import time

import factory
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Plan, Subscription, Team, TeamSeat
from incidents.models import (
    ActorType,
    CIAPosture,
    Incident,
    IncidentType,
    Motive,
    Organisation,
    Sector,
    Software,
    Source,
    Tactic,
    Technique,
    ThreatActor,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()

    @factory.post_generation
    def totp(obj, create, extracted, **kwargs):
        """Staff must use two-factor authentication: give them an authenticator app
        (its secret on ``user.totp_secret``). ``totp=False`` leaves it out."""
        if create and obj.is_staff and extracted is not False:
            obj.totp_secret = generate_totp_secret()
            TOTP.activate(obj, obj.totp_secret)


def totp_code(secret):
    """The code an authenticator app shows for ``secret`` now. allauth takes only the
    current period's code, so when the period is about to end, wait for the next one."""
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 3:
        time.sleep(period - time.time() % period + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Plan {n}")
    slug = factory.Sequence(lambda n: f"plan-{n}")
    price = 100


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    status = Subscription.Status.ACTIVE
    starts_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=10))
    ends_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=355))


class TeamFactory(factory.django.DjangoModelFactory):
    """A team with its owner's seat and verified address; ``TeamFactory(subscription=True)``
    also gives it an active subscription of a ten-seat team plan, bought by its owner."""

    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    owner = factory.SubFactory(UserFactory)
    seats = 10

    @factory.post_generation
    def owner_seat(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            TeamSeat.objects.create(team=obj, user=obj.owner)

    @factory.post_generation
    def owner_verified(obj, create, extracted, **kwargs):
        """The owner bought the team with a verified address (invitations show it)."""
        if create and extracted is not False and obj.owner.email:
            EmailAddress.objects.get_or_create(
                user=obj.owner, email=obj.owner.email, defaults={"verified": True, "primary": True}
            )

    @factory.post_generation
    def subscription(obj, create, extracted, **kwargs):
        if create and extracted:
            plan = PlanFactory(slug="team-plan", name="Team plan", seats=10)
            SubscriptionFactory(user=obj.owner, plan=plan, team=obj, **kwargs)


def seat_for(team, user=None):
    """Give ``user`` (a new one by default) a seat on ``team``; returns the user."""
    user = user or UserFactory()
    TeamSeat.objects.create(team=team, user=user)
    return user


class SectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sector

    name = factory.Sequence(lambda n: f"Sector {n}")
    slug = factory.Sequence(lambda n: f"sector-{n}")


class MotiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Motive

    name = factory.Sequence(lambda n: f"Motive {n}")
    slug = factory.Sequence(lambda n: f"motive-{n}")


class IncidentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncidentType
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Incident type {n}")
    slug = factory.Sequence(lambda n: f"incident-type-{n}")


class ActorTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActorType

    name = factory.Sequence(lambda n: f"Actor type {n}")
    slug = factory.Sequence(lambda n: f"actor-type-{n}")


class TacticFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tactic

    attack_id = factory.Sequence(lambda n: f"TA{n + 9000:04d}")
    shortname = factory.Sequence(lambda n: f"tactic-{n}")
    name = factory.Sequence(lambda n: f"Tactic {n}")


class TechniqueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technique
        skip_postgeneration_save = True

    attack_id = factory.Sequence(lambda n: f"T{n + 8000:04d}")
    name = factory.Sequence(lambda n: f"Technique {n}")

    @factory.post_generation
    def tactics(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tactics.set(extracted)


class SoftwareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Software

    attack_id = factory.Sequence(lambda n: f"S{n + 8000:04d}")
    name = factory.Sequence(lambda n: f"Software {n}")
    kind = "malware"


class ThreatActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ThreatActor

    name = factory.Sequence(lambda n: f"Actor {n}")
    actor_type = factory.SubFactory(ActorTypeFactory)
    country = "RU"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Victim Org {n}")
    country = "DE"


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    date = datetime.date(2021, 5, 17)
    date_precision = "day"
    country = "DE"
    summary = factory.Sequence(lambda n: f"Public summary of incident {n}.")
    description = "Public description."
    records_affected = 1000
    status = Incident.Status.PUBLISHED

    @factory.post_generation
    def types(obj, create, extracted, **kwargs):
        """Incident types by slug or instance (migration 0028 made the taxonomy's)."""
        if create and extracted:
            obj.types.set(
                [IncidentType.objects.get(slug=t) if isinstance(t, str) else t for t in extracted]
            )

    @factory.post_generation
    def motives(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.motives.set(extracted)

    @factory.post_generation
    def techniques(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.techniques.set(extracted)

    @factory.post_generation
    def threat_actors(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.threat_actors.set(extracted)


class CIAPostureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CIAPosture

    incident = factory.SubFactory(IncidentFactory)
    confidentiality = "high"
    integrity = "low"
    availability = "none"


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    incident = factory.SubFactory(IncidentFactory)
    url = factory.Sequence(lambda n: f"https://news.example.com/story-{n}")
    title = factory.Sequence(lambda n: f"Report {n}")
    publisher = "Example News"
