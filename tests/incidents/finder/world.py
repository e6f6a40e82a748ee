"""The finder's test catalogue (``build_world``), where every filter has a known answer:

    slug  victim                            date (precision)  country  sector         records
    A     Acme Rockets                      2021-05-17 day    DE       finance        5,000
    B     Borealis Health                   2019-11 month     FR       health         (unknown)
    C     Cobalt Bank                       2020-03-10 day    DE       finance        120
    D     Mitsubishi Electric Corporation   2020 year         JP       manufacturing  2,000,000
    F     Acme Rockets (recurring victim)   2022-08-02 day    DE       finance        10

Members-only facts (never in any public text, so a gated text search can be told apart):

    A  motive financial, T1486 (tactic impact), actor Copper Lynx (criminal group, RU),
       CIA high/low/high
    B  motive espionage, T1566.001 (sub-technique of T1566, initial-access),
       actor Grey Heron (nation-state, KP, alias "Heron Team"), CIA high/none/none
    C  motive financial, T1078, no actor, no CIA posture
    D  motive espionage, T1566 (initial-access), actor Grey Heron, CIA medium/medium/low
    F  nothing
"""

import datetime
from types import SimpleNamespace

from tests.factories import (
    ActorTypeFactory,
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SectorFactory,
    TacticFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

NEWEST = "FACDB"


def build_world():
    """The catalogue described in the module docstring."""
    # Named as the importer names them (test_imported_incidents_are_found_at_once).
    finance = SectorFactory(name="Finance and insurance", slug="finance")
    health = SectorFactory(name="Healthcare", slug="healthcare")
    manufacturing = SectorFactory(name="Manufacturing", slug="manufacturing")
    financial = MotiveFactory(name="Financial", slug="financial")
    espionage = MotiveFactory(name="Espionage", slug="espionage")
    initial_access = TacticFactory(
        attack_id="TA0001", shortname="initial-access", name="Initial Access", order=1
    )
    impact = TacticFactory(attack_id="TA0040", shortname="impact", name="Impact", order=2)
    t1566 = TechniqueFactory(attack_id="T1566", name="Phishing", tactics=[initial_access])
    t1566_001 = TechniqueFactory(
        attack_id="T1566.001",
        name="Spearphishing Attachment",
        parent=t1566,
        tactics=[initial_access],
    )
    t1486 = TechniqueFactory(attack_id="T1486", name="Data Encrypted for Impact", tactics=[impact])
    t1078 = TechniqueFactory(attack_id="T1078", name="Valid Accounts")
    nation_state = ActorTypeFactory(name="Nation-state", slug="nation-state")
    criminal = ActorTypeFactory(name="Criminal group", slug="criminal-group")
    heron = ThreatActorFactory(
        name="Grey Heron", actor_type=nation_state, country="KP", aliases=["Heron Team"]
    )
    lynx = ThreatActorFactory(
        name="Copper Lynx", actor_type=criminal, country="RU", aliases=["Lynx Crew"]
    )
    acme = OrganisationFactory(name="Acme Rockets", country="DE", sector=finance)
    borealis = OrganisationFactory(name="Borealis Health", country="FR", sector=health)
    cobalt = OrganisationFactory(name="Cobalt Bank", country="DE", sector=finance)
    mitsubishi = OrganisationFactory(
        name="Mitsubishi Electric Corporation", country="JP", sector=manufacturing
    )
    a = IncidentFactory(
        organisation=acme,
        date=datetime.date(2021, 5, 17),
        country="DE",
        sector=finance,
        records_affected=5000,
        # Disclosed 60 days after it occurred (public: the timeline, DESIGN.md).
        occurred_on=datetime.date(2021, 5, 17),
        disclosed_on=datetime.date(2021, 7, 16),
        summary="Acme Rockets disclosed a ransomware attack.",
        description="Payroll servers were locked.",
        types=["ransomware"],
        motives=[financial],
        techniques=[t1486],
        threat_actors=[lynx],
    )
    CIAPostureFactory(incident=a, confidentiality="high", integrity="low", availability="high")
    b = IncidentFactory(
        organisation=borealis,
        date=datetime.date(2019, 11, 1),
        date_precision="month",
        country="FR",
        sector=health,
        records_affected=None,
        summary="Patient records exposed by a misconfigured server.",
        types=["data-breach", "error"],
        motives=[espionage],
        techniques=[t1566_001],
        threat_actors=[heron],
    )
    CIAPostureFactory(incident=b, confidentiality="high", integrity="none", availability="none")
    c = IncidentFactory(
        organisation=cobalt,
        date=datetime.date(2020, 3, 10),
        country="DE",
        sector=finance,
        records_affected=120,
        summary="Phishing emails led to a data breach at the bank.",
        motives=[financial],
        techniques=[t1078],
    )
    d = IncidentFactory(
        organisation=mitsubishi,
        date=datetime.date(2020, 1, 1),
        date_precision="year",
        country="JP",
        sector=manufacturing,
        records_affected=2_000_000,
        # Known to the year only; discovered and disclosed to the day: a lag of 30 days
        # from the discovery. The source calls it suspected.
        occurred_on=datetime.date(2020, 1, 1),
        occurred_precision="year",
        discovered_on=datetime.date(2020, 2, 3),
        disclosed_on=datetime.date(2020, 3, 4),
        confirmation="suspected",
        summary="Mitsubishi Electric confirmed unauthorised access to its network.",
        # Public; not "espionage": that word is its (gated) motive, which tests search for.
        types=["data-breach"],
        motives=[espionage],
        techniques=[t1566],
        threat_actors=[heron],
    )
    CIAPostureFactory(incident=d, confidentiality="medium", integrity="medium", availability="low")
    f = IncidentFactory(
        organisation=acme,
        date=datetime.date(2022, 8, 2),
        country="DE",
        sector=finance,
        records_affected=10,
        summary="Acme Rockets reported a second intrusion.",
    )
    return SimpleNamespace(
        a=a,
        b=b,
        c=c,
        d=d,
        f=f,
        acme=acme,
        mitsubishi=mitsubishi,
        heron=heron,
        lynx=lynx,
        by_slug={i.slug: name for name, i in zip("ABCDF", [a, b, c, d, f], strict=True)},
    )
