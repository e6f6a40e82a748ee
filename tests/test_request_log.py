"""The request log in development: requests for static files only at debug level, so the
lines a developer reads (pages, the verification email) are not buried under them."""

import logging

import pytest
from django.test import Client

STYLESHEET = "/static/css/site.css"


def request_levels(caplog):
    return {r.path: r.levelno for r in caplog.records if r.name == "portal.request"}


@pytest.fixture
def log(caplog, db):
    caplog.set_level(logging.DEBUG, logger="portal.request")
    return caplog


def test_static_files_are_logged_at_debug_level_in_development(log, settings):
    settings.DEBUG = True
    client = Client()
    assert client.get(STYLESHEET).status_code == 200
    assert client.get("/incidents/").status_code == 200
    assert client.get("/static/css/no-such-file.css").status_code == 404
    assert request_levels(log) == {
        STYLESHEET: logging.DEBUG,
        "/incidents/": logging.INFO,
        "/static/css/no-such-file.css": logging.INFO,  # a broken link stays visible
    }


def test_static_files_are_logged_like_any_request_in_production(log, settings):
    settings.DEBUG = False
    client = Client()
    client.get(STYLESHEET)
    client.get("/incidents/")
    assert set(request_levels(log).values()) == {logging.INFO}
