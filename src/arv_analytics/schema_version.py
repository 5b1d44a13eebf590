"""The schema's revisions as the migration files name them, read without importing Alembic.

`serve` needs only two facts about the migrations: the newest revision (the database must be
at it) and the set this version knows (readiness tells "behind" from "ahead" during a rolling
upgrade). Importing Alembic to learn them cost every server process ~10 MB of memory
(docs/operations.md, "Sizing"); the revision identifiers are plain module-level strings in
each migration file, so they are read from the files' syntax trees instead.
``tests/test_migrations.py`` checks that this agrees with Alembic's own script directory.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"


def _assigned(tree: ast.Module, name: str) -> str | None:
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and target.id == name and value is not None:
            found = ast.literal_eval(value)
            return None if found is None else str(found)
    return None


@lru_cache(maxsize=1)
def _parents() -> dict[str, str | None]:
    """Each revision's parent (down_revision)."""
    if not VERSIONS_DIR.is_dir():
        raise RuntimeError(
            f"migrations not found at {VERSIONS_DIR}; the installation is incomplete, "
            "reinstall the arv-analytics package"
        )
    out: dict[str, str | None] = {}
    for path in sorted(VERSIONS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        revision = _assigned(tree, "revision")
        if revision is not None:
            out[revision] = _assigned(tree, "down_revision")
    return out


def known_revisions() -> frozenset[str]:
    """Every revision this version's code has a migration for."""
    return frozenset(_parents())


def head_revision() -> str | None:
    """The newest revision: the one no other migration builds on."""
    parents = _parents()
    heads = set(parents) - {p for p in parents.values() if p is not None}
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {sorted(heads)}")
    return next(iter(heads), None)
