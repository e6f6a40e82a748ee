"""Who may import whom (docs/architecture.md), read from the source: a wrong-way import fails here.

- `portal/` is the project package: the shell (settings, urls, views, middleware) and the
  plumbing both apps share (jobs, versions, the replica router). It imports app code only
  in `portal/urls.py`.
- Apps may import portal's plumbing, never its shell (`portal.urls`, `portal.views`,
  `portal.settings`: settings are read through `django.conf.settings`).
- `incidents` imports from `accounts` only the membership rule and
  the API tokens' resolver (`accounts.tokens`: a token to its owner, for the API), and the
  registry of *Your data* (`accounts.personal_data`, filled in `IncidentsConfig.ready`).
- `accounts` never imports `incidents`.
- Production apps never import `bench` (benchmark tooling, not installed in production).
- No import cycle through `portal` or `accounts`, imports inside functions included.
- No product module (portal, incidents, accounts) imports inside a function (a cycle is
  fixed by its direction, not dodged), but for the few in ``IMPORTS_IN_FUNCTIONS``, each
  with its reason.

Inside `incidents` (issue 20, "no cycle"):

- The import graph of `incidents`' modules, imports inside functions included, has no
  cycle but inside the models package.
- The models import nothing above them: of `incidents`, only `incidents.rules`, which
  imports no other module of `incidents`.
- Read-side queries are read from `incidents.selectors`: nothing but the views themselves
  and the URLconfs imports `incidents.views`.
- `incidents.tasks` only hands on the task objects (rows queued under its names must still
  resolve); nothing imports it, each task is imported from beside the code it runs.
"""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("portal", "incidents", "accounts", "bench")
INCIDENTS_MAY_USE = {
    "accounts.access",
    "accounts.tokens",
    "accounts.personal_data",
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, absolute (``imports_with_place``, the one reader)."""
    return {module for module, _line, _inside in imports_with_place(path)}


def sources(app):
    return [
        p
        for p in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in p.parts and "__pycache__" not in p.parts
    ]


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_resolver_sees_relative_imports():
    here = ROOT / "incidents" / "views" / "pages.py"
    assert any(m.startswith("incidents.") for m in imports_of(here))


def violations(apps, forbidden, *, allowed=lambda path, module: False):
    """(file, module) for each import of a module under ``forbidden`` by ``apps``' files."""
    found = []
    for app in apps:
        for path in sources(app):
            for module in sorted(imports_of(path)):
                if top(module) in forbidden and not allowed(path, module):
                    found.append((str(path.relative_to(ROOT)), module))
    return found


def _is_portal_urls(path, module):
    return path == ROOT / "portal" / "urls.py"


def _membership_rule_or_tokens(path, module):
    return module == "accounts" or any(
        module == ok or module.startswith(ok + ".") for ok in INCIDENTS_MAY_USE
    )


def test_portal_imports_apps_only_in_urls():
    assert violations(["portal"], {"incidents", "accounts", "bench"}, allowed=_is_portal_urls) == []


PORTAL_SHELL = ("portal.urls", "portal.views", "portal.settings", "portal.wsgi", "portal.asgi")


def _portal_plumbing(path, module):
    # ``from portal import versions`` reads as "portal" and "portal.versions": the second
    # says which module is taken.
    return not any(module == shell or module.startswith(shell + ".") for shell in PORTAL_SHELL)


def test_apps_import_only_portals_plumbing():
    assert (
        violations(["incidents", "accounts", "bench"], {"portal"}, allowed=_portal_plumbing) == []
    )


def test_incidents_uses_only_the_membership_rule_and_tokens_from_accounts():
    assert violations(["incidents"], {"accounts"}, allowed=_membership_rule_or_tokens) == []


def test_accounts_never_imports_incidents():
    assert violations(["accounts"], {"incidents", "bench"}) == []


def test_the_catalogue_never_imports_benchmark_tooling():
    assert violations(["incidents"], {"bench"}) == []


# -- cycles ------------------------------------------------------------------------------

# Apps whose modules may form no import cycle (incidents: no cycle outside its models package,
# test_incidents_import_graph_has_no_cycle_outside_the_models_package below).
ACYCLIC = ("portal", "accounts")

APPS_READY = (
    "apps.py is imported while the app registry fills: no model at its top; Django documents "
    "AppConfig.ready() as the place to import them and connect signals"
)
# Imports inside a function in a product module (portal, incidents, accounts): (file, module
# imported) -> why it cannot be at the top. Never to dodge a cycle: fix the direction instead.
IMPORTS_IN_FUNCTIONS = {
    ("accounts/apps.py", "django.contrib.sites.models"): APPS_READY,
    ("incidents/apps.py", "incidents.personal_data"): APPS_READY,
    ("incidents/apps.py", "incidents.exports.jobs"): APPS_READY,
    ("incidents/apps.py", "incidents.models"): APPS_READY,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph():
    """{module: modules it imports}, over every app's modules, imports inside functions
    included. ``from package import name`` points at ``package.name`` when that is a module,
    else at ``package``; the parent packages Python imports on the way are not edges."""
    files = {module_name(p): p for app in APPS for p in sources(app)}

    def known(name):
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for module, path in files.items():
        targets = {known(name) for name, _line, _inside in imports_with_place(path)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = import_graph()
    assert "accounts.billing.notices" in graph["accounts.billing.tasks"]  # from . import notices
    assert "accounts.billing" in graph["accounts.billing.tasks"]  # from accounts import billing


def test_no_import_cycle_through_portal_or_accounts():
    assert [c for c in cycles(import_graph()) if top(c[0]) in ACYCLIC] == []


PRODUCT = ("portal", "incidents", "accounts")


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_with_place(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, inside a function) for each import of a file: relative imports
    resolved, ``from package import module`` read as the module it names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    inside = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in inside) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                named = f"{module}.{alias.name}"
                found.append(
                    (named if is_module(named) else module, node.lineno, id(node) in inside)
                )
    return found


def imports_inside_functions():
    """{(file, module): [line, ...]} of every import inside a function in a product module."""
    found = {}
    for app in PRODUCT:
        for path in sources(app):
            for module, line, inside in imports_with_place(path):
                if inside:
                    found.setdefault((str(path.relative_to(ROOT)), module), []).append(line)
    return found


def test_the_reader_sees_imports_inside_functions():
    found = imports_with_place(ROOT / "incidents" / "apps.py")
    assert ("incidents.models", True) in {(module, inside) for module, _line, inside in found}
    assert ("django.apps", False) in {(module, inside) for module, _line, inside in found}


def test_no_import_inside_a_function_but_the_allowed_ones():
    unexpected = {
        f"{path}:{lines[0]} imports {module}"
        for (path, module), lines in imports_inside_functions().items()
        if (path, module) not in IMPORTS_IN_FUNCTIONS
    }
    assert sorted(unexpected) == [], (
        "Import at module level; a cycle it would make is fixed by its direction (a rule "
        "below the models, a selector, a task beside its code), not dodged."
    )


def test_every_allowed_import_inside_a_function_is_still_there():
    """An entry of IMPORTS_IN_FUNCTIONS whose import is gone goes too: the list stays the few
    that must stay."""
    gone = set(IMPORTS_IN_FUNCTIONS) - set(imports_inside_functions())
    assert sorted(gone) == []


# The import graph of incidents


def incidents_graph():
    """{module: {module it imports: (file, line)}} over incidents' modules (migrations left
    out), imports inside functions included."""
    graph = {}
    for path in sources("incidents"):
        name, edges = module_name(path), {}
        for module, line, _inside in imports_with_place(path):
            if top(module) == "incidents" and module != name:
                edges.setdefault(module, (str(path.relative_to(ROOT)), line))
        graph[name] = edges
    return graph


def in_models(module: str) -> bool:
    return module == "incidents.models" or module.startswith("incidents.models.")


def test_incidents_import_graph_has_no_cycle_outside_the_models_package():
    """Every import counts, inside functions too (the allowed ones of IMPORTS_IN_FUNCTIONS as
    well)."""
    graph = incidents_graph()
    outside = [c for c in cycles(graph) if not all(in_models(m) for m in c)]
    described = [
        [f"{m} -> {t} ({graph[m][t][0]}:{graph[m][t][1]})" for m in c for t in graph[m] if t in c]
        for c in outside
    ]
    assert described == []


def test_models_import_nothing_above_them():
    """Of incidents, the models import only each other and the rules below them."""
    wrong = [
        (str(path.relative_to(ROOT)), module)
        for path in sources("incidents")
        if in_models(module_name(path))
        for module, _line, _inside in imports_with_place(path)
        if top(module) == "incidents" and not in_models(module) and module != "incidents.rules"
    ]
    assert wrong == []


def test_the_rules_import_no_other_incidents_module():
    path = ROOT / "incidents" / "rules.py"
    assert [m for m, _line, _inside in imports_with_place(path) if top(m) == "incidents"] == []


URLCONFS = ("incidents/urls.py", "portal/urls.py")


def test_only_the_views_and_the_urlconfs_import_the_views():
    """Read-side queries live in incidents.selectors: the API, feeds, sitemaps (and any
    other module) read them there, never from a view module."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for app in APPS
        for path in sources(app)
        if str(path.relative_to(ROOT)) not in URLCONFS
        and not module_name(path).startswith("incidents.views")
        for module in imports_of(path)
        if module == "incidents.views" or module.startswith("incidents.views.")
    ]
    assert wrong == []


def test_incidents_tasks_only_hands_on_the_task_objects():
    """django-tasks-db finds a queued row's task by its dotted path (import_string): rows
    queued as incidents.tasks.<name> resolve through these names. The module defines
    nothing, and product code imports each task from beside the code it runs."""
    tree = ast.parse((ROOT / "incidents" / "tasks.py").read_text())
    defined = [
        node
        for node in tree.body
        if not isinstance(node, ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not (isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["__all__"])
    ]
    assert defined == []
    importers = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in sources(app)
        if path != ROOT / "incidents" / "tasks.py"
        and any(m == "incidents.tasks" for m, _line, _inside in imports_with_place(path))
    ]
    assert importers == []


def test_tasks_queued_under_their_old_names_still_resolve():
    from django.utils.module_loading import import_string
    from django_tasks.base import Task

    for name in (
        "match_new_incidents",
        "deliver_alerts",
        "refresh_statistics",
        "make_export",
        "build_public_snapshot",
    ):
        assert isinstance(import_string(f"incidents.tasks.{name}"), Task), name


# -- size --------------------------------------------------------------------------------

MAX_LINES = 500
# A product module allowed past MAX_LINES: path -> why it cannot be split by responsibility.
LONG_MODULES: dict[str, str] = {}


def test_no_product_module_passes_500_lines():
    """A module past ~500 lines becomes a package, one module per responsibility
    (docs/architecture.md; STYLE.md, "Layout")."""
    long = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for app in PRODUCT
        for path in sources(app)
        if len(path.read_text().splitlines()) > MAX_LINES
    }
    assert {path: n for path, n in long.items() if path not in LONG_MODULES} == {}


def test_every_long_module_allowed_is_still_long():
    still = {
        path
        for path in LONG_MODULES
        if (ROOT / path).is_file() and len((ROOT / path).read_text().splitlines()) > MAX_LINES
    }
    assert sorted(set(LONG_MODULES) - still) == []


# -- migrations --------------------------------------------------------------------------

# A migration runs on databases it has not reached yet, long after it was written: it
# imports no live product code (a rule it applies is frozen beside it, as accounts'
# migrations/_frozen_addresses.py), but for these, each with its reason.
MIGRATIONS_MAY_IMPORT = {
    ("incidents/migrations/0010_saved_searches.py", "incidents.models.searches"): (
        "Django's autodetector names a field's default callable by its import path "
        "(new_feed_token), which must stay importable as long as the field has it"
    ),
}


def migration_sources():
    return [
        p
        for app in PRODUCT
        for p in sorted((ROOT / app / "migrations").glob("*.py"))
        if p.name != "__init__.py"
    ]


def test_migrations_import_no_live_product_code():
    wrong = [
        (str(path.relative_to(ROOT)), module)
        for path in migration_sources()
        for module, _line, _inside in imports_with_place(path)
        if top(module) in PRODUCT
        and ".migrations" not in module
        and (str(path.relative_to(ROOT)), module) not in MIGRATIONS_MAY_IMPORT
    ]
    assert wrong == []
