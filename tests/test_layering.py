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
    return module != "portal" and not any(
        module == shell or module.startswith(shell + ".") for shell in PORTAL_SHELL
    )


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
