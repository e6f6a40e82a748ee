"""`make test` runs modules with transactional tests one at a time, after the parallel step
(Makefile, SERIAL_TESTS): under pytest-xdist a transactional test's flush would empty the
tables the migrations fill for the tests its worker runs next. A new such module that is not
listed fails here rather than making other tests fail by the luck of the schedule."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TRANSACTIONAL = re.compile(r"transaction=True|transactional_db|live_server")


def serial_paths() -> list[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+) := (.*)$", text, flags=re.M))
    expanded = re.sub(r"\$\((\w+)\)", lambda m: variables[m[1]], variables["SERIAL_TESTS"])
    return expanded.split()


def test_every_module_with_transactional_tests_runs_in_the_serial_step():
    serial = serial_paths()
    modules = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != Path(__file__).name and TRANSACTIONAL.search(path.read_text())
    ]
    assert modules, "the pattern finds nothing: this test would pass whatever the Makefile says"
    missing = [m for m in modules if not any(m == s or m.startswith(s + "/") for s in serial)]
    assert missing == []
