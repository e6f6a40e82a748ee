"""Security headers on every kind of response, and a strict Content-Security-Policy."""

import re

import pytest
from django.test import Client

from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/incidents/", "/accounts/login/", "/no-such-page/"])
def test_pages_carry_the_security_headers(path):
    IncidentFactory()
    response = Client().get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    directives = csp_directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_templates_carry_no_inline_script_style_or_handlers():
    """What the policy would block: inline <script> bodies, <style>, style= and on*= attributes."""
    from pathlib import Path

    offenders = []
    for template in Path("templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", text):
            offenders.append(f"{template}: inline <script>")
        if re.search(r"<style\b|\sstyle=|\son[a-z]+=", text):
            offenders.append(f"{template}: inline style or event handler")
    assert offenders == []
