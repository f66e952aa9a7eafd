"""What every subcommand is handed: the settings in force and, opened on first use, the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from sync.config import Settings

if TYPE_CHECKING:  # opened on first use only, so that `assist --help` does not load the store
    from sync.store import Store


@dataclass
class AppContext:
    settings: Settings
    _store: Store | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        """The local store, opened (and migrated) the first time a command needs it."""
        if self._store is None:
            from sync.store import Store

            self._store = Store.open(self.settings)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_app = click.make_pass_decorator(AppContext)
