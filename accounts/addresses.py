"""How the portal reads an email address: one mailbox, one identity.

``mailbox(address)`` is the one normalisation every comparison of addresses goes through:
allauth's unique-email rule at sign-up and at an email change (``accounts.adapter``), team
invitations (``accounts.teams.services``) and trial fingerprints
(``accounts.selfserve.trials``). Two addresses with the same ``mailbox`` reach one mailbox,
so they are one person's:

1. NFKC: compatibility forms become plain letters (``ｅxample.com`` is ``example.com``);
2. a quoted local part loses quotes that add nothing (``"ada"@`` is ``ada@``);
3. lower case (as allauth stores addresses);
4. the domain in its IDNA ASCII form (``bücher.example`` is ``xn--bcher-kva.example``);
5. ``+tag`` removed, and for Gmail dots removed and googlemail.com read as gmail.com (Gmail
   ignores both; other providers may not, so their dots are kept).

Steps 1 to 4 change only how the address is written: their result (``clean``) is what the
portal stores and writes to. Step 5 is kept out of stored addresses: a provider without
``+tags`` would deliver ``ada+x@`` to someone else.
"""

import contextlib
import re
import unicodedata

from django.db.models import Q

GMAIL = {"gmail.com", "googlemail.com"}
# RFC 5322's dot-atom (and what NFKC leaves of an internationalised one): a quoted local
# part made only of these needs no quotes.
_DOT_ATOM = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*")


def _unquote(local: str) -> str:
    if len(local) < 2 or not (local.startswith('"') and local.endswith('"')):
        return local
    inner = re.sub(r"\\(.)", r"\1", local[1:-1])
    return inner if _DOT_ATOM.fullmatch(inner) else local


def _ascii_domain(domain: str) -> str:
    domain = domain.rstrip(".")
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:  # an empty or over-long label: not an address anything delivers to
        return domain


def clean(address: str) -> str:
    """The address as stored and written to: steps 1 to 4 (the same mailbox as ``address``)."""
    text = unicodedata.normalize("NFKC", address or "").strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    local = _unquote(local).lower()
    return f"{local}@{_ascii_domain(unicodedata.normalize('NFKC', domain.lower()))}"


def mailbox(address: str) -> str:
    """The mailbox ``address`` reaches, the identity every comparison uses:
    ``A.B+x@GoogleMail.com``, ``"ab"@gmail.com`` and ``ab@ｇmail.com`` are all
    ``ab@gmail.com``."""
    local, at, domain = clean(address).rpartition("@")
    if not at:
        return domain
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def same_mailbox(a: str, b: str) -> bool:
    return bool(a) and bool(b) and mailbox(a) == mailbox(b)


def candidates(address: str, field: str = "email") -> Q:
    """A filter on ``field`` narrowing the stored addresses to those that may be ``address``'s
    mailbox (then compare with ``mailbox`` in Python): the same domain, in its ASCII or its
    Unicode form (either Gmail domain for Gmail), and the same first letter or a quoted local
    part. Addresses stored before this module existed in other forms (a fullwidth domain)
    were rewritten in their clean form by migration 0015, or reported to staff where
    accounts shared a mailbox."""
    key = mailbox(address)
    local, _, domain = key.rpartition("@")
    domains = {domain}
    with contextlib.suppress(UnicodeError):
        domains.add(domain.encode("ascii").decode("idna"))
    if domain == "gmail.com":
        domains |= GMAIL
    in_domain = Q()
    for name in sorted(domains):
        in_domain |= Q(**{f"{field}__iendswith": f"@{name}"})
    first = Q(**{f"{field}__startswith": '"'})
    if local:
        first |= Q(**{f"{field}__istartswith": local[0]})
    return in_domain & first


def shared_mailboxes(rows) -> dict[str, list]:
    """``rows``: (account id, address) pairs. The mailboxes reached from more than one
    account, each with its sorted (account id, address) pairs."""
    accounts: dict[str, set] = {}
    for account, address in rows:
        if address and "@" in address:
            accounts.setdefault(mailbox(address), set()).add((account, address))
    return {
        key: sorted(pairs)
        for key, pairs in sorted(accounts.items())
        if len({account for account, _ in pairs}) > 1
    }
