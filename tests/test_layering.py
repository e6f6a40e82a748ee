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
- No import cycle through `portal` or `accounts`, imports inside functions included, and no
  import inside a function there but the few allow-listed below, each with its reason.
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
    """Every module a file imports, absolute, with relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


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

# Apps whose modules may form no import cycle (incidents joins when its own cycle is gone).
ACYCLIC = ("portal", "accounts")

# Imports inside a function in ACYCLIC apps, each with the reason it cannot be at the top.
# Never to dodge a cycle: fix the direction instead.
IMPORTS_IN_FUNCTIONS = {
    ("accounts/apps.py", "django.contrib.sites.models"): (
        "apps.py is imported while the app registry fills: no model at its top"
    ),
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
        tree = ast.parse(path.read_text(), filename=str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(known(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for alias in node.names:
                    targets.add(
                        f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else known(base)
                    )
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


def imports_in_functions(app):
    """(file, module) for each import inside a function of ``app``."""
    found = []
    for path in sources(app):
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom):
                        names = [("." * node.level) + (node.module or "")]
                    else:
                        continue
                    found += [(str(path.relative_to(ROOT)), name) for name in names]
    return found


def test_imports_inside_functions_are_allow_listed_with_their_reason():
    found = {pair for app in ACYCLIC for pair in imports_in_functions(app)}
    assert found - IMPORTS_IN_FUNCTIONS.keys() == set()
    assert IMPORTS_IN_FUNCTIONS.keys() - found == set()  # an entry no longer needed goes
