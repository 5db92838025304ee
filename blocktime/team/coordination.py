"""Which claims a team uses: PostgreSQL advisory locks when its store is PostgreSQL (daemons on
several machines), else flock files on this machine. Both behind `claims.Coordinator`.
"""

from __future__ import annotations

from pathlib import Path

from blocktime.config.store_url import POSTGRESQL, engine
from blocktime.team.claims import Coordinator, Daemon


def is_postgresql(url: str | None) -> bool:
    """Whether the team's store is PostgreSQL (the config has checked the URL already)."""
    return engine(url) == POSTGRESQL


def open_coordinator(store_url: str | None, base_dir: Path, me: Daemon | None = None) -> Coordinator:
    """PostgreSQL when the team's store is PostgreSQL, else the one-machine SQLite coordinator."""
    if is_postgresql(store_url):
        from blocktime.team.pgclaims import PgCoordinator  # psycopg: only for a PostgreSQL store

        return PgCoordinator(str(store_url), me)
    from blocktime.team.fileclaims import SqliteCoordinator

    return SqliteCoordinator(base_dir, me)
