"""schemathesis against the API's own OpenAPI schema: generated requests (bounded and
deterministic: a few examples per operation, derandomized) as a visitor and as a member,
in process (WSGI) on the test database. No 5xx, and every answer matches the schema:
its status code is documented, its body and content type are the documented ones."""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incidents.api import api
from tests.factories import (
    CIAPostureFactory,
    IncidentFactory,
    MotiveFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

from .helpers import token_for

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = WSGIHandler()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_process_requests():
    """Requests through the WSGI handler inside the test's transaction: as Django's test
    client does, keep the handler from closing the database connection after each one (on
    PostgreSQL that would close the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def catalogue(db, settings, in_process_requests):
    settings.API_REQUESTS_PER_MINUTE = 10_000
    settings.API_ANONYMOUS_REQUESTS_PER_MINUTE = 10_000
    for n in range(3):
        incident = IncidentFactory(
            motives=[MotiveFactory()],
            techniques=[TechniqueFactory()],
            threat_actors=[ThreatActorFactory(aliases=[f"alias {n}"], country="RU")],
            records_affected=None if n else 10**12,
        )
        CIAPostureFactory(incident=incident)
    IncidentFactory(date_precision="year")


@pytest.fixture(params=["anonymous", "member"])
def headers(request, catalogue):
    token = token_for(request.param)
    return {"Authorization": f"Bearer {token}"} if token else {}


@schema.parametrize()
@settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema(case, headers):
    case.call_and_validate(headers=headers, checks=CHECKS)
