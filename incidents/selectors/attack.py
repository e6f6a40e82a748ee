"""ATT&CK's tactics and techniques a viewer gets a hub for (the hubs answer 404 by these;
the sitemaps list what they give a visitor)."""

from ..models import Tactic, Technique


def tactics_for(member):
    """Tactics a viewer gets a hub for: ATT&CK's own (published by MITRE, with their page
    on attack.mitre.org) for everyone; members also any other the catalogue holds."""
    return Tactic.objects.all() if member else Tactic.objects.exclude(url="")


def techniques_for(member):
    """Techniques a viewer gets a hub for: those under one of ``tactics_for`` them, not
    revoked or deprecated; members also any technique the catalogue holds."""
    if member:
        return Technique.objects.all()
    return Technique.objects.taggable().filter(tactics__in=tactics_for(False)).distinct()
