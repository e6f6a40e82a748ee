"""Real worker processes (`manage.py db_worker`, production settings) on the test database.

The test process enqueues on the database queue and commits (a transactional test); the workers
are separate processes polling the same PostgreSQL database. A task that fails after its side
effect is retried and the side effect stays single; one event enqueued several times, picked up
by two workers at once, has its side effect once; an account email queued by a sign-up is sent
by the worker. PostgreSQL only: SQLite's test database lives in memory, out of a subprocess's
reach.
"""

import contextlib
import signal
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.emails import send_email
from portal.jobs import retrying_task, run_once
from tests.live import PYTHON, ROOT, production_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DONE = {TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED}


# Tasks run by the workers (they import this module): the side effect is a line appended to
# a file, the failure is decided by a marker file next to it.


@retrying_task(attempts=3, backoff=timedelta(seconds=1))
def deliver(event: str, outbox: str, fail_once: bool = False) -> None:
    def append():
        with Path(outbox).open("a") as f:
            f.write(f"{event}\n")

    run_once(f"test-delivery:{event}", append)
    marker = Path(f"{outbox}.failed-{event}")
    if fail_once and not marker.exists():
        marker.touch()
        raise ConnectionError("lost the connection after the side effect")


@retrying_task(attempts=3, backoff=timedelta(seconds=1))
def deliver_slowly(event: str, outbox: str) -> None:
    """Holds its transaction a while, so that a second worker's run of the same event overlaps."""

    def append():
        with Path(outbox).open("a") as f:
            f.write(f"{event}\n")
        connection.cursor().execute("SELECT pg_sleep(0.5)")

    run_once(f"test-delivery:{event}", append)


def database_url() -> str:
    """The test database, for the workers."""
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@contextlib.contextmanager
def workers(count: int = 1):
    """``count`` worker processes on the test database, stopped (gracefully) at the end; their
    logs (with the console emails) are yielded as a function returning the text."""
    env = production_env(database_url())
    logs = [Path(tempfile.mkstemp(prefix="db-worker-", suffix=".log")[1]) for _ in range(count)]
    processes = []
    try:
        for i, log_path in enumerate(logs):
            with log_path.open("wb") as log:
                processes.append(
                    subprocess.Popen(  # noqa: S603
                        [
                            PYTHON,
                            "manage.py",
                            "db_worker",
                            "--no-reload",
                            "--no-startup-delay",
                            "--interval=0.1",
                            f"--worker-id=test-worker-{i}",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield lambda: "".join(p.read_text(errors="replace") for p in logs)
    except BaseException:
        for i, log_path in enumerate(logs):
            print(f"----- worker {i} log -----\n{log_path.read_text(errors='replace')[-5000:]}")
        raise
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)  # finishes its task, then exits
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log_path in logs:
            log_path.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "A real worker process needs the test database on PostgreSQL (SQLite's is in "
            "memory): run `make test-postgres`."
        )


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox.txt"


def results(task):
    return list(DBTaskResult.objects.filter(task_path=task.module_path).order_by("enqueued_at"))


def finished(task, count):
    found = results(task)
    return len(found) == count and all(r.status in DONE for r in found)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_task_failing_after_its_side_effect_is_retried_and_the_side_effect_stays_single(outbox):
    deliver.enqueue("payment-42", str(outbox), fail_once=True)
    with workers(1):
        wait_for(lambda: finished(deliver, 2), timeout=60, message="the retry to finish")

    first, second = results(deliver)
    assert first.status == TaskResultStatus.FAILED
    assert first.exception_class_path == "builtins.ConnectionError"
    assert second.status == TaskResultStatus.SUCCESSFUL
    assert second.args_kwargs["kwargs"] == {"fail_once": True, "_attempt": 2}
    # Deferred by the backoff (1 s) and not run before then.
    assert second.run_after >= first.started_at + timedelta(seconds=1)
    assert second.started_at >= second.run_after
    assert first.worker_ids == ["test-worker-0"] and second.worker_ids == ["test-worker-0"]
    assert lines(outbox) == ["payment-42"]


@override_settings(TASKS=DATABASE_QUEUE)
def test_one_event_enqueued_several_times_runs_once_across_two_workers(outbox):
    for _ in range(4):
        deliver_slowly.enqueue("digest-7", str(outbox))
    deliver_slowly.enqueue("digest-8", str(outbox))
    with workers(2):
        wait_for(lambda: finished(deliver_slowly, 5), timeout=60, message="five runs")

    assert [r.status for r in results(deliver_slowly)] == [TaskResultStatus.SUCCESSFUL] * 5
    assert sorted(lines(outbox)) == ["digest-7", "digest-8"]


@override_settings(TASKS=DATABASE_QUEUE)
def test_a_sign_up_s_confirmation_email_is_sent_by_the_worker(client):
    password = "Blue-Kestrel-4812"
    response = client.post(
        reverse("account_signup"),
        {"email": "analyst@example.org", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    (queued,) = results(send_email)
    assert queued.status == TaskResultStatus.READY

    with workers(1) as log:
        wait_for(lambda: finished(send_email, 1), timeout=60, message="the email task")
        (sent,) = results(send_email)
        assert sent.status == TaskResultStatus.SUCCESSFUL, sent.traceback
        text = log()

    # The console email backend printed it once, with its confirmation link.
    message_id = queued.args_kwargs["kwargs"]["message_id"]
    assert text.count(f"Message-ID: {message_id}") == 1
    assert "To: analyst@example.org" in text
    assert "/accounts/confirm-email/" in text
