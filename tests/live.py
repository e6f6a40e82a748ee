"""Live servers for the operations tests: real gunicorn processes with the production
settings (DEBUG off) on a fresh PostgreSQL database and on Redis, an HTTP client that
keeps cookies, and a TCP proxy that cuts a service off and brings it back.

Test modules register the fixtures with ``pytest_plugins = ["tests.live"]`` (so the
session-wide migrated database is made once for all of them). Everything here runs only
when DATABASE_URL points at PostgreSQL (``make test-postgres``) and Redis answers; the
tests skip otherwise, saying why.

Subprocesses get an environment built here from scratch: never the test process's own
(tests/settings.py sets DJANGO_TESTING=1, which would swap in the test settings).

PYTEST_DONT_REWRITE: the test modules import this module before ``pytest_plugins`` registers
it, too late for assertion rewriting; its few asserts carry their own messages.
"""

import contextlib
import html
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = str(BIN / "python")
GUNICORN = str(BIN / "gunicorn")
# Not 0 (development) nor 1 (bench/load_benchmark.sh); each run also uses its own key prefix.
REDIS_URL = os.environ.get("LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/6")
DEMO_PASSWORD = "demo-portal-2026"  # incidents/management/commands/seed_demo.py
MEMBER = "member@example.com"
INCIDENT = "/incidents/2020-11-mitsubishi-electric-corporation/"
LOCKED = "Available to members"
PASSTHROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
PG_SCHEMES = {"postgres", "postgresql", "pgsql"}


def unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


# Services: PostgreSQL and Redis, or a skip.


def postgres_from_environment() -> "Postgres | None":
    """The PostgreSQL server of DATABASE_URL (its database for administration), or None."""
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in PG_SCHEMES:
        return None
    return Postgres(f"postgres://{parts.netloc}", parts.path.lstrip("/") or "postgres")


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@dataclass
class Postgres:
    """A PostgreSQL server on which the tests create and drop their own databases."""

    server: str  # postgres://user@host:port, no database
    maintenance_db: str = "postgres"  # where CREATE and DROP DATABASE run
    _drops: list = field(default_factory=list)

    def url(self, name: str, *, port: int | None = None) -> str:
        parts = urllib.parse.urlsplit(self.server)
        netloc = parts.netloc
        if port is not None:
            netloc = f"{netloc.rsplit(':', 1)[0]}:{port}"
        return f"postgres://{netloc}/{name}"

    @property
    def address(self) -> tuple[str, int]:
        parts = urllib.parse.urlsplit(self.server)
        return parts.hostname or "127.0.0.1", parts.port or 5432

    def admin(self):
        return psycopg.connect(self.url(self.maintenance_db), autocommit=True, connect_timeout=5)

    def create(self, name: str, *, template: str | None = None) -> str:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.admin() as conn:
            conn.execute(query)
        return name

    def drop(self, name: str) -> None:
        # FORCE: gunicorn's persistent connections may still be open.
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def drop_soon(self, name: str) -> None:
        """Drop in the background (it can take seconds on a busy server); ``wait_for_drops``
        at the end of the session."""
        thread = threading.Thread(target=self.drop, args=(name,), daemon=True)
        thread.start()
        self._drops.append(thread)

    def wait_for_drops(self) -> None:
        for thread in self._drops:
            thread.join(timeout=60)

    def query(self, name: str, statement: str, params=()):
        with psycopg.connect(self.url(name), connect_timeout=5) as conn:
            return conn.execute(statement, params).fetchall()


@dataclass
class Services:
    postgres: Postgres
    redis_url: str

    def redis_at(self, port: int) -> str:
        """The same Redis database, reached through another port (a proxy)."""
        parts = urllib.parse.urlsplit(self.redis_url)
        return parts._replace(netloc=f"{parts.hostname}:{port}").geturl()

    @property
    def redis_address(self) -> tuple[str, int]:
        parts = urllib.parse.urlsplit(self.redis_url)
        return parts.hostname or "127.0.0.1", parts.port or 6379

    def flush_prefix(self, prefix: str) -> int:
        """Delete this run's keys (Django's Redis keys are ``<KEY_PREFIX>:<version>:<key>``)."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)


# Subprocesses: manage.py and gunicorn with explicit environments.


def production_env(database_url: str, *, redis_url: str | None = None, prefix: str = "", **extra):
    """The environment of a production process (DEBUG off), served over plain http locally."""
    env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        EMAIL_URL="consolemail://",
        DATABASE_URL=database_url,
        DJANGO_REQUEST_LOG_LEVEL="WARNING",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env.update(REDIS_URL=redis_url, CACHE_KEY_PREFIX=prefix)
    env.update(extra)
    return env


def development_env(database_url: str) -> dict:
    env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings", DJANGO_DEBUG="1", DATABASE_URL=database_url
    )
    return env


def run(args, env, *, timeout: float = 180) -> str:
    """Run a command from the project root; fail the test with its output if it fails."""
    result = subprocess.run(  # noqa: S603 - fixed commands built by the tests
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited with {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def manage(env, *args, timeout: float = 180) -> str:
    return run([PYTHON, "manage.py", *args], env, timeout=timeout)


def ensure_collected_static() -> None:
    """Production pages need WhiteNoise's manifest (staticfiles/staticfiles.json); collect
    only when it is missing or older than a project static file, as ``make serve`` does."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    sources = [p for p in (ROOT / "static").rglob("*") if p.is_file()]
    sources += [ROOT / ".ci" / "constraints.txt"]
    if manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    manage(production_env("sqlite:///unused.sqlite3"), "collectstatic", "--noinput", "-v0")


class Gunicorn:
    """One gunicorn master (one gthread worker by default) with the production settings."""

    def __init__(self, env: dict, name: str = "gunicorn"):
        self.port = free_port()
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def start(self) -> "Gunicorn":
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [GUNICORN, "-c", "portal/gunicorn.conf.py", "portal.wsgi"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends the workers too
            )
        return self

    def wait_until_up(self, timeout: float = 30) -> "Gunicorn":
        def up():
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                return Browser().get(self, "/healthz", timeout=2).status == 200
            except OSError:
                return False

        wait_for(up, timeout, interval=0.1, message=f"{self.name} to answer /healthz")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def worker_boots(self) -> int:
        return self.log_path.read_text(errors="replace").count("Booting worker")

    def stop(self) -> None:
        """Kill the master and its workers (their own process group) at once: they hold
        nothing worth a graceful stop (their databases are dropped WITH (FORCE)), and a
        graceful one waits out the gthread worker's 1 s poll."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        self.log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def serving(*envs: dict, names=()):
    """Start one gunicorn per environment (in parallel), wait until all answer, stop all
    at the end whatever happens. ``names`` label them in failure messages."""
    names = names or [f"gunicorn-{i}" for i in range(len(envs))]
    servers = [Gunicorn(env, name) for env, name in zip(envs, names, strict=True)]
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_up()
        yield servers
    except BaseException:
        for server in servers:  # shown by pytest with the failure
            print(f"----- {server.name} (port {server.port}) log -----\n{server.log()}")
        raise
    finally:
        for server in servers:
            server.stop()


# HTTP: a client keeping cookies across servers (as a browser does across ports of one host).


@dataclass
class Response:
    status: int
    headers: Message
    text: str
    seconds: float

    def json(self):
        return json.loads(self.text)


FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """Plain http.client requests that look as if nginx terminated TLS in front
    (X-Forwarded-Proto: https), with one cookie jar for every server of the host."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, server, method, path, *, body=None, headers=None, timeout=15.0):
        host, port = server.address
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        sent = {
            "Host": f"{host}:{port}",
            "X-Forwarded-Proto": "https",
            "Connection": "close",
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", errors="replace")
        finally:
            conn.close()
        for header in raw.msg.get_all("Set-Cookie") or []:
            for morsel in SimpleCookie(header).values():
                if morsel["max-age"] == "0" or not morsel.value or morsel.value == '""':
                    self.cookies.pop(morsel.key, None)
                else:
                    self.cookies[morsel.key] = morsel.value
        return Response(raw.status, raw.msg, text, time.monotonic() - started)

    def get(self, server, path, **kwargs) -> Response:
        return self.request(server, "GET", path, **kwargs)

    def post_form(self, server, path, data: dict, **kwargs) -> Response:
        """GET the form page, then POST ``data`` with its CSRF token, as a browser would."""
        page = self.get(server, path, **kwargs)
        match = FORM_TOKEN.search(page.text)
        assert match, f"No CSRF token in {path} ({page.status}):\n{page.text[:2000]}"
        host, port = server.address
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": html.unescape(match[1]), **data})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"https://{host}:{port}",
            "Referer": f"https://{host}:{port}{path}",
        }
        return self.request(server, "POST", path, body=body, headers=headers, **kwargs)

    def log_in(self, server, email, password, **kwargs) -> Response:
        return self.post_form(
            server, "/accounts/login/", {"login": email, "password": password}, **kwargs
        )

    def log_out(self, server, **kwargs) -> Response:
        return self.post_form(server, "/accounts/logout/", {}, **kwargs)


def shows_member_view(response: Response) -> bool:
    """The Mitsubishi Electric incident page as a member (its motives) or as a visitor."""
    assert response.status == 200, f"{response.status}: {response.text[:2000]}"
    # Its motive as the members' table links it: the public type Espionage shares the name.
    motive = 'title="Incidents with this motive">Espionage</a>'
    gated = motive in response.text and LOCKED not in response.text
    public = LOCKED in response.text and motive not in response.text
    assert gated != public, "Neither clearly the member view nor the visitor view"
    return gated


# A TCP proxy: the service "goes down" and "comes back" while the app keeps running.


class TcpProxy:
    """Forward 127.0.0.1:port to ``target``. ``stop()`` closes the listener (new connections
    are refused) and cuts the open ones; ``start()`` listens again on the same port.
    ``start(blackhole=True)`` accepts connections but never answers (an unreachable host)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, *, blackhole: bool = False) -> "TcpProxy":
        assert self._thread is None, "already running"
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._accept, args=(listener, self._stopping, blackhole), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._thread.join(timeout=5)
        self._thread = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, *socks):
        with self._lock:
            self._sockets.update(socks)

    def _accept(self, listener, stopping, blackhole):
        with listener:
            while not stopping.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                self._track(client)
                if blackhole:
                    continue  # held open, never answered
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                self._track(upstream)
                for src, dst in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# Fixtures (registered by the test modules' ``pytest_plugins = ["tests.live"]``).


@pytest.fixture(scope="session")
def services():
    postgres = postgres_from_environment()
    if postgres is None:
        pytest.skip(
            "Live multi-process tests need PostgreSQL: DATABASE_URL is not a postgres:// URL "
            "(run `make test-postgres`)."
        )
    try:
        postgres.admin().close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at {postgres.server} does not answer: {exc}")
    if not redis_answers(REDIS_URL):
        pytest.skip(f"Live multi-process tests need Redis: {REDIS_URL} does not answer.")
    yield Services(postgres, REDIS_URL)
    postgres.wait_for_drops()


@pytest.fixture(scope="session")
def demo_template(services):
    """A database migrated and seeded with the demo data and accounts (seed_demo), made once
    per session; tests copy it (CREATE DATABASE ... TEMPLATE), which takes a moment."""
    postgres = services.postgres
    name = postgres.create(unique("live_template"))
    try:
        # `manage.py migrate` then `manage.py seed_demo`, in one process (a second apiece).
        manage(
            development_env(postgres.url(name)),
            "shell",
            "-c",
            "from django.core.management import call_command; "
            "call_command('migrate', interactive=False, verbosity=0); "
            "call_command('seed_demo', quiet_accounts=True)",
        )
        ensure_collected_static()
        yield name
    finally:
        postgres.drop(name)


@contextlib.contextmanager
def database_copy(services: Services, template: str):
    """A fresh database copied from ``template``, dropped at the end."""
    name = services.postgres.create(unique("live"), template=template)
    try:
        yield name
    finally:
        services.postgres.drop_soon(name)


@pytest.fixture
def make_database(services, demo_template):
    """``make_database()``: a fresh copy of the demo database, dropped after the test."""
    made = []

    def make() -> str:
        name = unique("live")
        made.append(name)
        return services.postgres.create(name, template=demo_template)

    yield make
    for name in made:
        services.postgres.drop_soon(name)


@pytest.fixture
def cache_prefix(services):
    """A key prefix of this test's own in the shared Redis; its keys are deleted afterwards."""
    prefix = unique("live")
    yield prefix
    services.flush_prefix(prefix)
