"""Another process holding a lock (portal.locks), played by a thread with its own database
connection: PostgreSQL's advisory locks are re-entrant within one connection, so the test's
own thread cannot play it."""

import threading
from contextlib import contextmanager

from django.db import connection

from portal import locks


@contextmanager
def held_elsewhere(name: str, seconds: float = 60):
    """``name`` held by another thread until the block ends."""
    taken, done, result = threading.Event(), threading.Event(), {}

    def hold():
        try:
            with locks.held(name, seconds) as mine:
                result["mine"] = mine
                taken.set()
                done.wait(30)
        finally:
            taken.set()
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(30)
    assert result.get("mine"), f"{name} was held already"
    try:
        yield
    finally:
        done.set()
        thread.join(30)


def free_here(name: str) -> bool:
    """Whether this thread could take ``name`` now (it gives it back at once)."""
    with locks.held(name, 60) as mine:
        return mine


# A Redis nobody answers at (the discard port): portal.cache.ResilientRedisCache in an outage.
UNREACHABLE_REDIS = {
    "BACKEND": "portal.cache.ResilientRedisCache",
    "LOCATION": "redis://127.0.0.1:9/0",
    "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
}
