"""The reading of email addresses that migrations 0006 and 0015 apply, frozen as it was when
they were written (accounts.addresses and accounts.selfserve.trials.email_fingerprint, December
2026): a later change to the live rules must not change what an old migration does to a
database it has not reached yet. Django's loader skips this module (its name starts with an
underscore): it is no migration."""

import re
import unicodedata

from django.utils.crypto import salted_hmac

GMAIL = {"gmail.com", "googlemail.com"}
_DOT_ATOM = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*")


def _unquote(local):
    if len(local) < 2 or not (local.startswith('"') and local.endswith('"')):
        return local
    inner = re.sub(r"\\(.)", r"\1", local[1:-1])
    return inner if _DOT_ATOM.fullmatch(inner) else local


def _ascii_domain(domain):
    domain = domain.rstrip(".")
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain


def clean(address):
    text = unicodedata.normalize("NFKC", address or "").strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    local = _unquote(local).lower()
    return f"{local}@{_ascii_domain(unicodedata.normalize('NFKC', domain.lower()))}"


def mailbox(address):
    local, at, domain = clean(address).rpartition("@")
    if not at:
        return domain
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def shared_mailboxes(rows):
    accounts = {}
    for account, address in rows:
        if address and "@" in address:
            accounts.setdefault(mailbox(address), set()).add((account, address))
    return {
        key: sorted(pairs)
        for key, pairs in sorted(accounts.items())
        if len({account for account, _ in pairs}) > 1
    }


def email_fingerprint(address):
    return salted_hmac("accounts.trial-claim", mailbox(address), algorithm="sha256").hexdigest()
