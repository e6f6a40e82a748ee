"""Synthetic incidents shaped like the VERIS Community Database, for benchmarks and tests.

Pure generation, no database: ``SyntheticIncidents`` plans victims and yields plain
rows; ``make_actor_pool`` invents named threat actors. Writing them is the job of
``manage.py generate_incidents`` (docs/generate_incidents.md).

The tables below were derived once, offline, from ``vcdb_validated.jsonl`` (9,427
incidents, VCDB as of 2023-11-13) as the VERIS importer maps them: counts per
victim country, sector, year, date precision and CIA impact, and the shape of text
lengths and records affected. No VCDB text is copied; summaries are assembled from
the word lists here. Names of synthetic actors use words that never occur in
summaries, so a public text search cannot match gated actor names by accident.
"""

from __future__ import annotations

import calendar
import datetime
import random
from array import array
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from incidents.models import DatePrecision, Impact
from incidents.rules import TIMELINE_DATES, disclosure_lag, slug_base

# Distribution tables (VCDB validated set, counts; "-" is "not known")


def _table(text: str) -> list[tuple[str, float]]:
    words = text.split()
    return [("" if k == "-" else k, float(v)) for k, v in zip(words[::2], words[1::2], strict=True)]


def _weighted(text: str) -> Weighted:
    return Weighted(_table(text))


def _rng(seed, stream: str) -> random.Random:
    """One reproducible random stream per purpose, so changing one leaves the others."""
    return random.Random(f"{seed}:{stream}")  # noqa: S311 - test data, not secrets


class Weighted:
    """Draws items in proportion to their weights (bisect over cumulative weights)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs):
        self.items, self.cum, total = [], [], 0.0
        for item, weight in pairs:
            total += weight
            self.items.append(item)
            self.cum.append(total)
        self.total = total

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.total)]

    def sample(self, rng: random.Random, k: int) -> list:
        """``k`` distinct items (at most all of them), heavier ones more often."""
        k = min(k, len(self.items))
        chosen: list = []
        while len(chosen) < k:
            item = self.pick(rng)
            if item not in chosen:
                chosen.append(item)
        return chosen


# victim.country: 140 countries plus unknown ("-").
COUNTRIES = _weighted("""
US 6673 GB 585 CA 377 - 219 AU 170 IN 144 NZ 105 IE 69 CN 68 JP 66 DE 57 IL 50 KR 50 FR 35
RU 31 TR 27 SG 25 ZA 25 NL 25 ES 24 TW 23 UA 19 HK 18 BE 18 CH 18 TH 17 PH 16 PK 16 ID 15
BR 15 AE 15 SE 15 MX 13 AR 13 DK 12 SY 11 MY 11 IT 11 KE 10 CZ 10 IR 10 FI 9 PR 9 UM 8 PL 8
NO 8 AT 7 KZ 7 BD 7 CK 7 AZ 6 AM 6 CY 6 EG 6 LT 6 VE 6 PE 6 EC 5 BS 5 VN 5 CL 5 RO 5 NG 5
PA 5 GH 4 KP 4 SA 4 ZW 4 BY 4 BG 4 EE 3 PS 3 ET 3 TM 3 QA 3 SK 3 PT 3 LV 3 JO 3 GA 3 CO 3
LB 3 CR 3 JM 3 HN 3 OM 3 AL 2 GE 2 PY 2 IS 2 LU 2 UZ 2 MD 2 BH 2 MA 2 BO 2 NP 2 GT 2 AF 2
KH 2 MT 2 BZ 2 LK 2 NA 2 BW 2 RS 2 VI 2 SZ 2 HU 2 TL 1 GU 1 TT 1 TN 1 CG 1 MZ 1 IM 1 AG 1
KW 1 BN 1 SD 1 TZ 1 YE 1 MR 1 TJ 1 MK 1 RW 1 HR 1 UG 1 DZ 1 ME 1 SI 1 BA 1 GR 1 IQ 1 ZM 1
ML 1 UY 1 HT 1 CW 1 MC 1
""")

# victim.industry (NAICS) mapped to the portal's sectors as the VERIS importer does.
SECTORS = _weighted("""
healthcare 2495 government 2157 finance 853 retail 585 education 528 professional-services 491
media 484 technology 293 hospitality 248 - 230 manufacturing 224 defence 207 non-profit 165
telecommunications 141 transportation 125 energy 68 real-estate 50 other-services 46
construction 32 agriculture 5
""")

# timeline.incident.year; the few before 2000 are folded into 2000, 2023-2025 extrapolated.
YEARS = Weighted(
    (int(y), n)
    for y, n in _table("""
2000 9 2001 5 2002 6 2003 13 2004 17 2005 23 2006 23 2007 51 2008 82 2009 94 2010 588
2011 547 2012 1277 2013 1939 2014 1011 2015 926 2016 867 2017 621 2018 362 2019 356 2020 341
2021 184 2022 85 2023 60 2024 45 2025 30
""")
)
MONTHS = Weighted(
    (int(m), n)
    for m, n in _table("1 576 2 569 3 575 4 523 5 583 6 551 7 588 8 548 9 517 10 557 11 483 12 448")
)
PRECISIONS = Weighted(
    [(DatePrecision.DAY, 4350), (DatePrecision.MONTH, 2168), (DatePrecision.YEAR, 2909)]
)

# (confidentiality, integrity, availability) as the VERIS importer derives them; the
# 25 most common of 60 combinations (99.4% of incidents).
_N, _L, _M, _H, _U = Impact.NONE, Impact.LOW, Impact.MEDIUM, Impact.HIGH, Impact.UNKNOWN
POSTURES = Weighted([
    ((_H, _N, _N), 4076), ((_M, _N, _M), 1110), ((_H, _M, _N), 1067), ((_H, _N, _M), 734),
    ((_M, _N, _N), 595), ((_H, _H, _N), 234), ((_M, _M, _N), 192), ((_N, _N, _H), 187),
    ((_U, _N, _N), 166), ((_N, _H, _N), 166), ((_M, _M, _H), 120), ((_N, _M, _N), 103),
    ((_H, _M, _H), 102), ((_N, _M, _H), 94), ((_N, _H, _M), 44), ((_N, _H, _H), 32),
    ((_H, _H, _M), 31), ((_M, _H, _H), 31), ((_H, _M, _M), 30), ((_N, _M, _M), 29),
    ((_H, _N, _H), 22), ((_H, _H, _H), 21), ((_L, _H, _N), 17), ((_U, _N, _M), 17),
    ((_L, _M, _N), 16),
])  # fmt: skip
POSTURE_SHARE = 0.9  # incidents with a CIA posture

# actor.*.motive mapped to portal motives; how many an incident has (VCDB: 0 48%, 1 51%,
# 2 0.6%; the tail is widened a little so that every count up to 5 occurs).
MOTIVES = _weighted("""
financial 3244 fun 524 ideology 417 espionage 381 grudge 191 convenience 104 other 72
secondary 18 fear 9
""")
MOTIVE_COUNTS = Weighted([(0, 46), (1, 47), (2, 5), (3, 1.2), (4, 0.5), (5, 0.3)])
# VCDB names almost no actors; these counts are invented so actor filters have work to do.
ACTOR_COUNTS = Weighted([(0, 30), (1, 60), (2, 7), (3, 2), (4, 0.7), (5, 0.3)])
# VCDB has no ATT&CK ids; counts invented, weights from the VERIS-to-ATT&CK mapping below.
TECHNIQUE_COUNTS = Weighted([(0, 55), (1, 15), (2, 10), (3, 7), (4, 6), (5, 7)])
# Techniques derived from VCDB actions through veris-1.4.0_attack-16.1-enterprise.csv;
# any other taggable technique gets BASE_TECHNIQUE_WEIGHT.
TECHNIQUE_WEIGHTS = dict(
    _table("""
T1056 1436 T1586 681 T1204 540 T1598 516 T1566 502 T1036 473 T1133 419 T1021 399 T1550 388
T1558 386 T1595 385 T1078 378 T1134 378 T1490 364 T1486 364 T1212 307 T1068 286 T1574 285
T1584 256 T1059 239 T1203 232 T1583 194 T1610 178 T1499 169 T1498 169 T1110 154 T1111 149
T1047 136 T1569 125 T1040 113 T1190 112 T1018 106 T1049 106 T1482 106 T1016 106 T1135 106
""")
)
BASE_TECHNIQUE_WEIGHT = 10.0
# reference: URLs per incident (VCDB 0-52; kept to 1-3) and the hosts they point to.
SOURCE_COUNTS = Weighted([(1, 6182), (2, 1797), (3, 574)])
SOURCE_HOSTS = _weighted("""
databreaches.net 950 news.softpedia.com 341 oag.ca.gov 321 phiprivacy.net 305 securelist.com 280
healthitsecurity.com 227 doj.nh.gov 221 ocrportal.hhs.gov 167 scmagazine.com 153 zdnet.com 151
kaspersky.com 148 hhs.gov 135 hipaajournal.com 126 krebsonsecurity.com 120
esecurityplanet.com 103 cbc.ca 100 theregister.co.uk 99 beckershospitalreview.com 91
justice.gov 86 oag.state.md.us 81 hackread.com 74 bleepingcomputer.com 72 arstechnica.com 68
infosecurity-magazine.com 59 bizjournals.com 56 bbc.com 53 prnewswire.com 52 reuters.com 47
threatpost.com 47 techcrunch.com 46 darkreading.com 43 theguardian.com 41 stuff.co.nz 39
bankinfosecurity.com 38 washingtonpost.com 38 nytimes.com 37 ico.org.uk 36 wired.com 33
""")
# actor.external.variety mapped to actor types (named actors: "unknown" down-weighted).
ACTOR_TYPES = _weighted("""
criminal-group 882 lone-actor 554 hacktivist 487 nation-state 275 unknown 150 insider 78
competitor 18 terrorist 5
""")
ACTOR_COUNTRIES = _weighted("""
- 900 US 330 RU 139 CN 62 GB 49 PK 42 SY 38 UA 31 TR 26 KP 23 CA 22 IR 18 RO 16 IN 14 AU 13
ID 9 AR 8 NZ 6 KR 6 PS 6 NG 5 BR 5 VN 4 IL 4 SA 4 BD 4 PH 4 NL 4
""")
# action.* categories of VCDB incidents (an incident may have several; one is used here).
ACTIONS = _weighted("""
error 2717 hacking 2583 misuse 1815 physical 1716 malware 930 social 651 unknown 335
""")

# Lengths: raw summary ~ lognormal (VCDB mean 505, median 174 characters); longer than
# SUMMARY_LIMIT it is cut and the full text moves to the description, as the importer
# does. 5% of VCDB incidents have analyst notes (mean 174, median 73 characters).
SUMMARY_LOG_MU, SUMMARY_LOG_SIGMA, SUMMARY_MAX = 5.31, 1.35, 17000
SUMMARY_LIMIT = 1000
NOTES_SHARE, NOTES_LOG_MU, NOTES_LOG_SIGMA = 0.05, 4.29, 1.32
# attribute.confidentiality.data_total: missing in 45%, else log10 ~ normal(3.0, 2.15).
RECORDS_NULL_SHARE, RECORDS_LOG10_MU, RECORDS_LOG10_SIGMA, RECORDS_LOG10_MAX = 0.41, 3.0, 2.15, 9.5
# Victims: 80% have one incident, 20% recur (2, 3, ... incidents; a few have many).
RECUR_SHARE = 0.2
RECUR_COUNTS = _weighted("2 62 3 17 4 8 5 4 6 2 7 1.5 8 1 10 1 12 1 15 1 20 0.8 30 0.5")

# Words

_w = str.split
PLACE_HEADS = _w("""
North South East West Ash Brook Oak Elm Stone River Lake Green Red Fair Bright Gold Maple Pine
Cedar Willow Hazel Clear High Kings Queens Wood Bay Cliff Glen Marsh Mill Spring Summer Winter
Rock Sand Hill Dun Har Stan Brad Chester Ever Fern Lin Mead Whit Haw Bel Cal Wex Ren Thorn
Long Black White Rose Hart Kent
""")
PLACE_TAILS = _w("""
wind field ford wood ton dale brook gate vale haven ridge port mont bury ley stead wick mouth
view crest more burn well side land worth shire holm field croft ham by minster bourne hurst
moor combe den stow castle water bridge
""")
SURNAMES = _w("""
Hartley Morgan Ellison Whitaker Thornton Caldwell Pemberton Ashworth Fairbanks Holloway
Langford Mercer Prescott Radcliffe Sinclair Templeton Underwood Vance Wakefield Yardley Abbott
Barnes Carver Dalton Emerson Fletcher Garrison Hastings Ingram Jarvis Keller Lawson Maddox
Norris Osborne Palmer Quincy Rowland Sutton Tucker Upton Vaughn Weston Young Zimmerman Baxter
Coleman Donovan Everett Fowler Griffith Harper Irving Jensen Kendall Lowell Monroe Nash Ortega
Porter Ramsey Shelton Thatcher Villiers Warren Alcott Brennan Calloway Delgado Forsyth
""")
QUALIFIERS = _w("""
Regional General Community National United First Central Metropolitan County Valley Coastal
Mountain Pacific Atlantic Northern Southern Western Eastern Memorial Premier Pioneer Heritage
Summit Liberty Citizens Allied Advanced Integrated Global Mutual State Unified Sovereign
Providence Trinity Frontier Harbour Lakeside Riverside Highland Midland Prairie Capital Civic
""")
LEGAL = {
    "US": "Inc. LLC Corp.", "GB": "Ltd plc", "IE": "Ltd", "AU": "Pty Ltd", "NZ": "Ltd",
    "CA": "Inc. Ltd", "DE": "GmbH AG", "AT": "GmbH", "CH": "AG SA", "FR": "SA SAS",
    "BE": "SA NV", "NL": "B.V. N.V.", "JP": "K.K.", "IN": "Pvt Ltd", "": "Ltd Group",
}  # fmt: skip
# Victim name templates per sector: {p} place, {q} qualifier, {s}/{t} surnames, {l} legal form.
ORG_TEMPLATES = {
    "healthcare": ["{p} {q} Hospital", "{p} {q} Medical Center", "{q} Health System of {p}",
                   "{p} {q} Clinic", "{s} Family Practice", "{s} & {t} Dental Group",
                   "{p} Surgical Associates", "{p} {q} Health Partners", "{s} Pharmacy {l}"],
    "government": ["City of {p}", "{p} County", "{p} {q} Police Department",
                   "{p} Department of Revenue", "{p} {q} School Board", "{p} Water Authority",
                   "{p} Municipal Court", "{p} {q} Council", "{p} Sheriff's Office"],
    "finance": ["{p} {q} Bank", "{q} Bank of {p}", "{p} {q} Credit Union", "{s} Capital {l}",
                "{s} & {t} Insurance {l}", "{p} Savings Bank", "{s} Wealth Management {l}",
                "{p} {q} Finance {l}"],
    "retail": ["{p} Outfitters {l}", "{s} Stores {l}", "{p} {q} Market", "{s} & {t} Grocers",
               "{p} Home Goods {l}", "{p} Electronics {l}", "{s} Fashion {l}"],
    "education": ["University of {p}", "{p} {q} College", "{p} School District",
                  "{p} {q} Academy", "{p} Institute of Technology", "{s} College"],
    "professional-services": ["{s} & {t} Law Group", "{s} Consulting {l}", "{s} & {t} Accounting",
                              "{p} {q} Advisory {l}", "{s} Staffing {l}"],
    "media": ["{p} {q} Herald", "{p} Gazette", "{s} Media {l}", "{p} Broadcasting {l}",
              "{s} Publishing {l}", "{p} {q} Radio", "{s} Studios {l}"],
    "technology": ["{p} Software {l}", "{s} Systems {l}", "{p} {q} Networks {l}", "{p} Labs {l}",
                   "{s} Data {l}", "{p} Cloud Hosting {l}"],
    "hospitality": ["{p} {q} Hotel", "{p} Resort & Spa", "{s} Restaurants {l}",
                    "{p} Casino {l}", "{s} Travel {l}", "{p} Inn"],
    "manufacturing": ["{s} Manufacturing {l}", "{p} Industries {l}", "{p} Steel {l}",
                      "{s} Plastics {l}", "{p} {q} Foods {l}", "{s} Components {l}"],
    "defence": ["{p} Defense Systems {l}", "{s} Aerospace {l}", "{p} {q} Dynamics {l}",
                "{p} Naval Systems {l}"],
    "non-profit": ["{p} {q} Foundation", "{s} Charitable Trust", "{p} {q} Association",
                   "{p} Relief Fund", "{s} Society"],
    "telecommunications": ["{p} Telecom {l}", "{p} {q} Communications {l}", "{s} Wireless {l}",
                           "{p} Broadband {l}"],
    "transportation": ["{p} {q} Airlines", "{s} Logistics {l}", "{p} Transit Authority",
                       "{p} Freight {l}", "{p} {q} Railways"],
    "energy": ["{p} Energy {l}", "{p} {q} Power", "{p} Electric Cooperative", "{s} Oil & Gas {l}"],
    "real-estate": ["{s} Properties {l}", "{p} Realty {l}", "{p} {q} Housing Association"],
    "other-services": ["{s} Auto Repair {l}", "{p} Cleaning Services {l}", "{s} & {t} Services"],
    "construction": ["{s} Construction {l}", "{p} Builders {l}", "{s} & {t} Contracting"],
    "agriculture": ["{p} Farms {l}", "{s} Growers {l}", "{p} {q} Dairy"],
    "": ["{s} Holdings {l}", "{p} Group {l}", "{s} & {t} {l}", "{p} {q} Enterprises"],
}  # fmt: skip
ACTOR_ADJECTIVES = _w("""
Obsidian Velvet Crimson Cobalt Scarlet Gilded Hollow Silent Frozen Molten Phantom Venom Rogue
Neon Onyx Sapphire Vermilion Ivory Sable Azure Cinder Ember Frost Lunar Solar Static Quantum
Rusty Wicked Feral Grim Spectral Toxic Savage Lucky Midnight Twilight Thunder Bronze Jade Amber
Indigo Cyan Magenta Umbra Nebula Zenith Carmine Ochre Pale
""")
ACTOR_NOUNS = _w("""
Basilisk Wyvern Manticore Kraken Chimera Hydra Griffin Jackal Viper Mantis Panda Spider Bear
Kitten Tiger Typhoon Sleet Blizzard Tempest Cyclone Scorpion Cobra Hornet Wasp Raven Crow Wolf
Lynx Leopard Dragon Phoenix Golem Goblin Specter Wraith Banshee Serpent Mamba Octopus Squid
Piranha Shark Badger Weasel Ferret Hyena Vulture Locust Termite Moth
""")

# Summary text: an opening about the victim, then sentences from a shuffled pool.
DATA = [
    "patient records", "payment card data", "Social Security numbers", "customer addresses",
    "employee payroll records", "login credentials", "medical histories", "bank account numbers",
    "tax records", "student records", "insurance claim files", "dates of birth",
    "email addresses and passwords", "driver's licence numbers", "passport scans",
    "credit reports", "personnel files", "donor records", "loan applications",
    "prescription records", "customer account details", "internal emails", "source code",
    "billing records", "voter registration data", "court documents", "laboratory results",
]  # fmt: skip
ASSETS = [
    "web server", "customer database", "email server", "online store", "patient portal",
    "file server", "payroll system", "point-of-sale terminals", "VPN gateway",
    "cloud storage bucket", "billing system", "student information system",
    "content management system", "backup server", "remote desktop server", "mobile app backend",
    "HR system", "public website",
]  # fmt: skip
DEVICES = [
    "laptop", "desktop computer", "external hard drive", "USB flash drive", "backup tape",
    "smartphone", "box of paper records", "tablet", "server", "briefcase of documents",
]  # fmt: skip
PLACES = [
    "an employee's car", "a locked office", "a storage facility", "a courier van",
    "an employee's home", "a branch office", "a records room", "a hotel room",
]  # fmt: skip
ROLES = [
    "an employee", "a billing clerk", "a nurse", "a former employee", "a contractor",
    "a call-centre agent", "a bank teller", "a system administrator", "a records clerk",
    "a police officer", "a pharmacy technician",
]  # fmt: skip
OPENINGS = {
    "error": ["{v} mistakenly mailed letters containing {d} to the wrong recipients {w}.",
              "{v} posted {d} on its {a} by mistake {w}.",
              "{v} left {d} on a misconfigured {a} that anyone could reach {w}.",
              "{v} threw away {d} without shredding them {w}.",
              "{v} exposed {d} through a programming error in its {a} {w}."],
    "hacking": ["Attackers gained access to the {a} of {v} {w} and copied {d}.",
                "An intruder exploited a vulnerability in the {a} of {v} {w}.",
                "Someone used stolen passwords to log in to the {a} of {v} {w}.",
                "The {a} of {v} was defaced {w}.",
                "A denial-of-service attack knocked the {a} of {v} offline {w}."],
    "misuse": ["{r} at {v} looked up {d} without a business reason {w}.",
               "{r} at {v} copied {d} to a personal email account {w}.",
               "{r} at {v} sold {d} to a third party {w}.",
               "{r} at {v} used {d} to open fraudulent accounts {w}."],
    "physical": ["A {e} holding {d} was stolen from {x} of {v} {w}.",
                 "{v} lost a {e} with {d} {w}.",
                 "Thieves broke into {x} of {v} {w} and took a {e} containing {d}."],
    "malware": ["Ransomware encrypted files on the {a} of {v} {w}.",
                "Card-skimming code was found on the {a} of {v} {w}.",
                "A keylogger on a workstation at {v} captured {d} {w}.",
                "Malicious software on the {a} of {v} sent {d} to a remote server {w}."],
    "social": ["Staff at {v} received phishing emails {w} that harvested their passwords.",
               "A caller posing as a supplier tricked staff at {v} into changing bank details {w}.",
               "A forged email from a manager led staff at {v} to wire money to criminals {w}.",
               "Staff at {v} opened a malicious attachment {w}, exposing {d}."],
    "unknown": ["{v} reported a security incident involving {d} {w}.",
                "{v} disclosed that {d} may have been exposed {w}."],
}  # fmt: skip
SHORT = {
    "error": ["misdelivered mail", "misconfigured database", "documents put in the bin"],
    "hacking": ["website defaced", "database breached", "denial of service"],
    "misuse": ["employee snooping", "insider sold records", "privilege abuse"],
    "physical": ["stolen laptop", "lost backup tape", "burglary of records"],
    "malware": ["ransomware infection", "card skimmer found", "keylogger installed"],
    "social": ["phishing attack", "invoice fraud", "pretexting call"],
    "unknown": ["security incident", "records exposed"],
}
FOLLOW_UPS = [
    "The problem was discovered {n} later during a routine review.",
    "The organisation notified affected individuals and offered free credit monitoring.",
    "Law enforcement was informed and an investigation is under way.",
    "There was no evidence that the {d} had been misused.",
    "A forensic firm was hired to examine the {a}.",
    "Regulators were notified as the law requires.",
    "The {a} was taken offline while the problem was fixed.",
    "Customers were told to reset their passwords and watch their statements.",
    "Staff were given further training on handling {d}.",
    "The {e} was not encrypted.",
    "The exposure lasted {n} before anyone noticed.",
    "Local newspapers reported the incident {n} later.",
    "The organisation has since changed its procedures for handling {d}.",
    "A class action lawsuit was filed on behalf of those affected.",
    "The {a} had not been patched for several months.",
    "Letters were sent to everyone whose {d} were involved.",
    "A spokesperson apologised and said security had been tightened.",
    "The matter was referred to the state attorney general.",
    "Backups allowed most systems to be restored.",
    "Investigators believe the {d} were offered for sale online.",
    "A reader in {c} first alerted reporters to the problem.",
    "The affected office in {c} was closed for {n}.",
    "Auditors from {c} reviewed the {a} afterwards.",
    "Records of customers in {c} were among those exposed.",
    "Insurance covered part of the cost of the response.",
    "The organisation declined to say how many people were affected.",
    "An outside security researcher reported the weakness.",
    "Passwords were stored without proper hashing.",
    "Two-factor authentication was later turned on for all staff.",
    "The incident response took {n} and cost an undisclosed sum.",
]
DELAYS = _w("two-days three-days a-week ten-days two-weeks a-month six-weeks three-months a-year")
HEADLINES = {
    "error": "reports misdirected records", "hacking": "confirms data breach",
    "misuse": "says employee misused records", "physical": "reports theft of records",
    "malware": "hit by malicious software", "social": "warns of phishing scam",
    "unknown": "discloses security incident",
}  # fmt: skip
CIA_WORDS = {
    "c": {_H: "Yes", _M: "Potentially", _L: "No", _U: "Unknown"},
    "data": _w("Medical Personal Payment Credentials Bank Internal Secrets System"),
    "i": {_H: "Modify data, Fraudulent transaction", _M: "Software installation, Alter behavior",
          _L: "Repurpose", _U: ""},
    "a": {_H: "Interruption", _M: "Loss", _L: "Degradation", _U: ""},
}  # fmt: skip


@dataclass(slots=True)
class Victim:
    name: str
    slug: str
    country: str
    sector: str  # sector slug, "" for none
    website: str
    incidents: int  # how many incidents of this run it gets
    pk: int | None = None  # set by the writer


@dataclass(slots=True)
class SyntheticIncident:
    serial: int
    victim: Victim
    date: datetime.date
    precision: str
    summary: str
    description: str
    records_affected: int | None
    published: bool
    posture: tuple[str, str, str, str] | None  # confidentiality, integrity, availability, notes
    motives: list[str] = field(default_factory=list)  # motive slugs
    techniques: list[str] = field(default_factory=list)  # ATT&CK ids
    actors: list[int] = field(default_factory=list)  # indices into the actor pool
    sources: list[tuple[str, str, str, datetime.date]] = field(default_factory=list)
    # The timeline as VCDB has it (issue 23): occurred is the date; disclosed for about
    # 70%, to the day for three quarters of those, days after as VCDB's lags run.
    disclosed: tuple[datetime.date | None, str] = (None, DatePrecision.DAY)
    confirmation: str = "confirmed"

    @property
    def external_id(self) -> str:
        return f"syn-{self.serial}"

    def timeline_columns(self) -> tuple:
        """(occurred_on, occurred_precision, disclosed_on, disclosed_precision,
        disclosure_lag_days, confirmation), as the writers' rules keep them."""
        dates = dict.fromkeys(TIMELINE_DATES, (None, DatePrecision.DAY))
        dates["occurred"], dates["disclosed"] = (self.date, self.precision), self.disclosed
        return (
            self.date,
            self.precision,
            *self.disclosed,
            disclosure_lag(dates),
            self.confirmation,
        )


@dataclass(slots=True)
class SyntheticActor:
    number: int
    name: str
    slug: str
    actor_type: str  # actor type slug
    country: str
    aliases: list[str]
    description: str

    @property
    def external_id(self) -> str:
        return f"syn-actor-{self.number}"


def make_actor_pool(seed, numbers: Sequence[int], *, taken_names=(), taken_slugs=()):
    """Named actors numbered ``numbers``; names avoid ``taken_names`` (lower case)."""
    rng = _rng(seed, "actors")
    names, slugs = set(taken_names), set(taken_slugs)
    actors = []
    for number in numbers:
        kind, country = ACTOR_TYPES.pick(rng), ACTOR_COUNTRIES.pick(rng)
        for attempt in range(100):
            adj, noun = rng.choice(ACTOR_ADJECTIVES), rng.choice(ACTOR_NOUNS)
            roll = rng.random()
            if kind == "hacktivist" and roll < 0.5:
                name = f"{noun}Sec" if roll < 0.2 else f"Team {adj} {noun}"
            elif kind == "criminal-group" and roll < 0.3:
                name = f"{adj} {noun} {'Syndicate' if roll < 0.15 else 'Gang'}"
            elif kind == "lone-actor":
                name = f"{adj.lower()}_{noun.lower()}{rng.randint(1, 99)}"
            else:
                name = f"{adj} {noun}"
            if attempt > 50:
                name = f"{name} {number}"
            if name.lower() not in names and slug_base(name) not in slugs:
                break
        names.add(name.lower())
        slugs.add(slug_base(name))
        aliases = [f"UNC{rng.randint(1000, 9999)}"] if rng.random() < 0.5 else []
        if rng.random() < 0.25:
            aliases.append(f"{rng.choice(ACTOR_ADJECTIVES)}{rng.choice(ACTOR_NOUNS)}")
        kind_words = kind.replace("-", " ")
        description = f"Synthetic test actor ({kind_words}), invented by generate_incidents."
        actors.append(
            SyntheticActor(number, name, slug_base(name), kind, country, aliases, description)
        )
    return actors


class SyntheticIncidents:
    """``count`` incidents numbered from ``first_serial``, reproducible from ``seed``.

    Victims are planned up front (80% with one incident, 20% recurring, spread over
    the run); call ``new_victims(a, b)`` then ``incidents(a, b)`` for consecutive
    ranges, in order: a victim is invented where its first incident falls.
    """

    def __init__(
        self,
        count: int,
        *,
        seed,
        first_serial: int = 1,
        publish_ratio: float = 0.97,
        techniques: Sequence[str] = (),
        actor_pool: int = 0,
        taken_names=(),
        taken_slugs=(),
        today: datetime.date | None = None,
    ):
        self.count, self.first_serial, self.publish_ratio = count, first_serial, publish_ratio
        self.today = today or datetime.date.today()
        self.rng = _rng(seed, "incidents")
        self.timeline_rng = _rng(seed, "timeline")
        self.names_rng = _rng(seed, "victims")
        self.taken_names, self.taken_slugs = set(taken_names), set(taken_slugs)
        self.techniques = Weighted(
            (t, TECHNIQUE_WEIGHTS.get(t, BASE_TECHNIQUE_WEIGHT)) for t in techniques
        )
        # Actors by rank: a few are prolific, most appear now and then.
        self.actors = Weighted((i, 1.0 / (i + 5)) for i in range(actor_pool))
        self.fillers = self._filler_pool(_rng(seed, "text"))
        self._plan_victims(_rng(seed, "plan"))

    # Victims

    def _plan_victims(self, rng):
        sizes = array("l")
        planned = 0
        while planned < self.count:
            size = RECUR_COUNTS.pick(rng) if rng.random() < RECUR_SHARE else 1
            size = min(int(size), self.count - planned)
            sizes.append(size)
            planned += size
        slots = array("l", (v for v, size in enumerate(sizes) for _ in range(size)))
        rng.shuffle(slots)
        self.slots, self.sizes = slots, sizes
        self.victims: dict[int, Victim] = {}  # invented and still to be used
        self.left = array("l", sizes)

    def new_victims(self, start: int, stop: int) -> list[Victim]:
        """Victims whose first incident is in [start, stop), invented in that order."""
        new = []
        for i in range(start, stop):
            v = self.slots[i]
            if v not in self.victims and self.left[v] == self.sizes[v]:
                self.victims[v] = victim = self._invent_victim(self.sizes[v])
                new.append(victim)
        return new

    def _invent_victim(self, size: int) -> Victim:
        rng = self.names_rng
        country, sector = COUNTRIES.pick(rng), SECTORS.pick(rng)
        templates = ORG_TEMPLATES[sector]
        legal = _w(LEGAL.get(country, "Ltd"))
        for attempt in range(1000):
            name = rng.choice(templates).format(
                p=rng.choice(PLACE_HEADS) + rng.choice(PLACE_TAILS),
                q=rng.choice(QUALIFIERS),
                s=rng.choice(SURNAMES),
                t=rng.choice(SURNAMES),
                l=rng.choice(legal),
            )
            if attempt >= 20:  # the space is crowded: number the name
                name = f"{name} {attempt}"
            slug = slug_base(name)
            if name.lower() not in self.taken_names and slug not in self.taken_slugs:
                break
        self.taken_names.add(name.lower())
        self.taken_slugs.add(slug)
        website = f"https://www.{slug}.example/" if rng.random() < 0.6 else ""
        return Victim(name, slug, country, sector, website, size)

    # Incidents

    def incidents(self, start: int, stop: int) -> Iterator[SyntheticIncident]:
        rng = self.rng
        for i in range(start, stop):
            v = self.slots[i]
            victim = self.victims[v]
            self.left[v] -= 1
            if not self.left[v]:
                del self.victims[v]
            yield self._incident(rng, self.first_serial + i, victim)

    def _incident(self, rng, serial, victim) -> SyntheticIncident:
        date, precision = self._date(rng)
        action = ACTIONS.pick(rng)
        posture = None
        if rng.random() < POSTURE_SHARE:
            c, i, a = POSTURES.pick(rng)
            posture = (c, i, a, _posture_notes(rng, c, i, a))
        records = None
        if (posture is None or posture[0] != Impact.NONE) and rng.random() >= RECORDS_NULL_SHARE:
            exponent = rng.gauss(RECORDS_LOG10_MU, RECORDS_LOG10_SIGMA)
            records = int(10 ** min(max(exponent, 0.0), RECORDS_LOG10_MAX))
        summary, description = self._text(rng, victim, action, date, precision, records)
        incident = SyntheticIncident(
            serial=serial,
            victim=victim,
            date=date,
            precision=precision,
            summary=summary,
            description=description,
            records_affected=records,
            published=rng.random() < self.publish_ratio,
            posture=posture,
            motives=MOTIVES.sample(rng, MOTIVE_COUNTS.pick(rng)),
        )
        incident.disclosed, incident.confirmation = self._timeline(date, precision)
        if self.techniques.items:
            incident.techniques = self.techniques.sample(rng, TECHNIQUE_COUNTS.pick(rng))
        if self.actors.items:
            incident.actors = self.actors.sample(rng, ACTOR_COUNTS.pick(rng))
        headline = f"{victim.name} {HEADLINES[action]}"
        path = slug_base(headline)[:60]
        for k in range(SOURCE_COUNTS.pick(rng)):
            host = SOURCE_HOSTS.pick(rng)
            published_on = min(date + datetime.timedelta(days=rng.randint(0, 120)), self.today)
            suffix = f"-{k + 1}" if k else ""
            url = f"https://{host}/{published_on:%Y/%m}/{path}-{serial}{suffix}"
            incident.sources.append((url, headline, host, published_on))
        return incident

    def _date(self, rng) -> tuple[datetime.date, str]:
        year, precision = YEARS.pick(rng), PRECISIONS.pick(rng)
        if precision == DatePrecision.YEAR:
            date = datetime.date(year, 1, 1)
        else:
            month = MONTHS.pick(rng)
            day = 1
            if precision == DatePrecision.DAY:
                day = rng.randint(1, calendar.monthrange(year, month)[1])
            date = datetime.date(year, month, day)
        if date > self.today:  # never in the future
            date = self.today if precision == DatePrecision.DAY else self.today.replace(day=1)
            if precision == DatePrecision.YEAR:
                date = date.replace(month=1)
        return date, precision

    def _timeline(self, date, precision):
        """(disclosed date and precision, confirmation), from a stream of its own (the other
        values a seed gives stay as they were). VCDB: 70% disclosed, three quarters of
        those to the day; lags log-normal around a median of 29 days; 0.8% suspected,
        0.1% near misses. Never before the occurrence nor after today."""
        rng = self.timeline_rng
        confirmation = "confirmed"
        draw = rng.random()
        if draw < 0.008:
            confirmation = "suspected"
        elif draw < 0.009:
            confirmation = "near-miss"
        if rng.random() >= 0.70:
            return (None, DatePrecision.DAY), confirmation
        end = date
        if precision == DatePrecision.MONTH:
            end = date.replace(day=calendar.monthrange(date.year, date.month)[1])
        elif precision == DatePrecision.YEAR:
            end = date.replace(month=12, day=31)
        lag = int(rng.lognormvariate(3.37, 1.6))  # e^3.37 = 29 days
        disclosed = min(end + datetime.timedelta(days=lag), self.today)
        if rng.random() < 0.76:
            return (disclosed, DatePrecision.DAY), confirmation
        return (disclosed.replace(day=1), DatePrecision.MONTH), confirmation

    def _filler_pool(self, rng, variants=200) -> list[list[str]]:
        """Per follow-up template, its distinct fillings (in a reproducible order)."""
        return [
            list(
                dict.fromkeys(
                    template.format(
                        n=rng.choice(DELAYS).replace("-", " "),
                        d=rng.choice(DATA),
                        a=rng.choice(ASSETS),
                        e=rng.choice(DEVICES),
                        c=rng.choice(PLACE_HEADS) + rng.choice(PLACE_TAILS),
                    )
                    for _ in range(variants)
                )
            )
            for template in FOLLOW_UPS
        ]

    def _sentences(self, rng, length: int) -> Iterator[str]:
        """Follow-up sentences until about ``length`` characters, no template twice
        while others are unused."""
        pool, used = self.fillers, set()
        while length > 0:
            t = int(rng.random() * len(pool))
            if t in used and len(used) < len(pool):
                continue
            used.add(t)
            variants = pool[t]
            sentence = variants[int(rng.random() * len(variants))]
            length -= len(sentence) + 1
            yield sentence

    def _text(self, rng, victim, action, date, precision, records) -> tuple[str, str]:
        target = min(int(rng.lognormvariate(SUMMARY_LOG_MU, SUMMARY_LOG_SIGMA)), SUMMARY_MAX)
        if target < 70:
            text = f"{victim.name}: {rng.choice(SHORT[action])}."
        else:
            if precision == DatePrecision.DAY:
                when = f"on {date.day} {date:%B %Y}"
            else:
                when = f"in {date:%B %Y}" if precision == DatePrecision.MONTH else f"in {date.year}"
            parts = [
                rng.choice(OPENINGS[action]).format(
                    v=victim.name,
                    w=when,
                    d=rng.choice(DATA),
                    a=rng.choice(ASSETS),
                    e=rng.choice(DEVICES),
                    x=rng.choice(PLACES),
                    r=rng.choice(ROLES),
                )
            ]
            parts[0] = parts[0][0].upper() + parts[0][1:]
            length = len(parts[0])
            if records is not None and length < target:
                parts.append(f"About {records:,} records were affected.")
                length += len(parts[-1]) + 1
            parts.extend(self._sentences(rng, target - 40 - length))
            text = " ".join(parts)
        description = ""
        if len(text) > SUMMARY_LIMIT:  # as the VERIS importer stores long summaries
            description = text
            text = text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
        if rng.random() < NOTES_SHARE:
            size = int(rng.lognormvariate(NOTES_LOG_MU, NOTES_LOG_SIGMA))
            notes = " ".join(self._sentences(rng, max(size, 1)))
            description = f"{description}\n\nNotes: {notes}".strip()
        return text, description


def _posture_notes(rng, c, i, a) -> str:
    notes = []
    if c != Impact.NONE:
        data = ", ".join(sorted(set(rng.choices(CIA_WORDS["data"], k=rng.randint(1, 2)))))
        notes.append(f"Confidentiality: data disclosure {CIA_WORDS['c'][c]}; data: {data}.")
    if i != Impact.NONE and CIA_WORDS["i"][i]:
        notes.append(f"Integrity: {CIA_WORDS['i'][i]}.")
    if a != Impact.NONE and CIA_WORDS["a"][a]:
        notes.append(f"Availability: {CIA_WORDS['a'][a]}.")
    return " ".join(notes)
