"""The tested restore of docs/deploy.md: its backup and restore-check scripts, taken from the
document as printed, dump a migrated database holding the demo incidents (pg_dump, custom
format) and restore it into a fresh database (pg_restore); the copy has the same rows."""

import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.live import ROOT, production_env, run, unique

pytest_plugins = ["tests.live"]

DEPLOY_DOC = ROOT / "docs" / "deploy.md"
INCIDENT_SLUG = "2020-11-mitsubishi-electric-corporation"


def script_from_docs(name: str) -> str:
    """The ```bash block of docs/deploy.md that installs /usr/local/bin/<name>."""
    for block in re.findall(r"^```bash\n(.*?)^```", DEPLOY_DOC.read_text(), re.S | re.M):
        lines = block.splitlines()
        if len(lines) > 1 and lines[1].startswith(f"# /usr/local/bin/{name}"):
            return block
    pytest.fail(f"docs/deploy.md has no bash block for /usr/local/bin/{name}")


def snapshot(url: str) -> dict:
    """Row counts of every table, sequence positions, triggers and extensions, and one
    incident in full (with its motives and techniques)."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        counts = {
            t: conn.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(t))
            ).fetchone()[0]
            for t in tables
        }
        incident = conn.execute(
            "SELECT row_to_json(i)::jsonb FROM incidents_incident i WHERE slug = %s",
            [INCIDENT_SLUG],
        ).fetchone()[0]
        related = conn.execute(
            """SELECT array(SELECT m.slug FROM incidents_motive m
                              JOIN incidents_incident_motives im ON im.motive_id = m.id
                             WHERE im.incident_id = %(id)s ORDER BY 1),
                      array(SELECT t.attack_id FROM incidents_technique t
                              JOIN incidents_incident_techniques it ON it.technique_id = t.id
                             WHERE it.incident_id = %(id)s ORDER BY 1)""",
            {"id": incident["id"]},
        ).fetchone()
        return {
            "counts": counts,
            "incident": incident,
            "related": related,
            "sequences": dict(conn.execute("SELECT sequencename, last_value FROM pg_sequences")),
            "triggers": sorted(
                conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
            ),
            "extensions": sorted(conn.execute("SELECT extname FROM pg_extension").fetchall()),
        }


@pytest.fixture
def documented(tmp_path):
    """The two scripts of docs/deploy.md, as printed there: {name: path}."""
    scripts = {}
    for name in ("portal-backup", "portal-restore-check"):
        scripts[name] = tmp_path / name
        scripts[name].write_text(script_from_docs(name))
    return scripts


def scripts_env(source_url, tmp_path, check_db, **extra):
    """The app's environment, as the scripts get it from /etc/portal/portal.env."""
    return production_env(
        source_url,
        APP=str(ROOT),
        BACKUP_DIR=str(tmp_path / "backups"),
        CHECK_DB=check_db,
        **extra,
    )


def test_the_documented_backup_restores_into_a_fresh_database(
    services, make_database, documented, tmp_path
):
    postgres = services.postgres
    source = postgres.url(make_database())
    check_db = unique("live_restore")
    # KEEP_CHECK_DB: kept for the comparison below (the script drops it otherwise).
    env = scripts_env(source, tmp_path, check_db, KEEP_CHECK_DB="1")
    try:
        dump = run(["bash", documented["portal-backup"]], env).strip().splitlines()[-1]
        assert dump.startswith(f"{tmp_path}/backups/daily/portal-") and dump.endswith(".dump")

        # Without an argument the check restores the newest dump: the one above.
        output = run(["bash", documented["portal-restore-check"]], env)
        original = snapshot(source)
        incidents = original["counts"]["incidents_incident"]
        assert incidents >= 30, "the demo incidents are missing from the source"
        assert f"incidents_incident restored={incidents} production={incidents}" in output

        restored = snapshot(postgres.url(check_db))
        assert restored["counts"] == original["counts"]
        assert restored["incident"] == original["incident"]
        assert (
            restored["related"]
            == original["related"]
            == (
                ["espionage", "financial"],
                ["T1078"],
            )
        )
        assert restored["sequences"] == original["sequences"]
        assert restored["triggers"] == original["triggers"]
        assert restored["extensions"] == original["extensions"]

        # The copy works: the search trigger indexes an edit.
        with psycopg.connect(postgres.url(check_db), connect_timeout=5) as conn:
            conn.execute(
                "UPDATE incidents_incident SET summary = 'Quokka exfiltration' WHERE slug = %s",
                [INCIDENT_SLUG],
            )
            found = conn.execute(
                "SELECT slug FROM incidents_incident "
                "WHERE search_vector @@ plainto_tsquery('english', 'quokka')"
            ).fetchall()
        assert found == [(INCIDENT_SLUG,)]
    finally:
        postgres.drop_soon(check_db)


def test_the_restore_check_fails_on_a_truncated_dump(services, make_database, documented, tmp_path):
    """The check can fail: half a dump does not restore."""
    postgres = services.postgres
    check_db = unique("live_restore")
    env = scripts_env(postgres.url(make_database()), tmp_path, check_db)
    try:
        dump = Path(run(["bash", documented["portal-backup"]], env).strip().splitlines()[-1])
        dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
        result = subprocess.run(  # noqa: S603
            ["bash", documented["portal-restore-check"], dump],  # noqa: S607
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode != 0, result.stdout
        assert "pg_restore: error" in result.stderr, result.stderr
    finally:
        postgres.drop_soon(check_db)
