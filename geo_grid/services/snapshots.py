"""One holder for every in-memory snapshot of the database (the live grid directory, the address book).

A snapshot is built aside and swapped in whole with one reference assignment, so a reader sees either the
old or the new one, never a mix, and never waits for a rebuild. Each holder has a cheap *version probe*
(the active generation's id, the newest address import): `refresh_if_changed` asks only the probe and
rebuilds when it differs from the version the held snapshot was built at. A failed rebuild (the database
is down) raises and leaves the old snapshot in place, so the service keeps answering from memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

_UNLOADED = object()  # the version of a holder that was never loaded: no probe ever equals it


class SnapshotHolder(Generic[T]):
    """Holds the current snapshot of type T (None when there is nothing to build, e.g. no active
    generation) and the version it was built at.

    `probe(session)` is the version in the database now; `build(session, version)` builds the snapshot of
    that version. Reads never lock; rebuilds are serialised (one at a time per holder)."""

    def __init__(
        self,
        name: str,
        probe: Callable[[Session], object],
        build: Callable[[Session, object], T | None],
    ) -> None:
        self.name = name
        self._probe = probe
        self._build = build
        # (version, snapshot) in one tuple: both are replaced by one assignment
        self._state: tuple[object, T | None] = (_UNLOADED, None)
        self._lock = threading.Lock()  # serialises rebuilds, not reads
        self.reloads = 0  # how many snapshots were built (the tests read it)

    @property
    def current(self) -> T | None:
        return self._state[1]

    @property
    def version(self) -> object:
        """The version the current snapshot was built at (a sentinel before the first load)."""
        return self._state[0]

    def reload(self, factory: sessionmaker[Session]) -> T | None:
        """Build the snapshot of the database's current version aside and swap it in; returns it.

        The version is probed before the build, in the same session: a change that lands between the two
        is at worst built early and rebuilt once more at the next refresh, never missed."""
        with self._lock, factory() as session:
            version = self._probe(session)
            new = self._build(session, version)
            self._state = (version, new)
            self.reloads += 1
            return new

    def refresh_if_changed(self, factory: sessionmaker[Session]) -> bool:
        """Reload when the database's version is not the one held; True if a new snapshot was swapped in."""
        with factory() as session:
            version = self._probe(session)
        if version == self._state[0]:
            return False
        self.reload(factory)
        return True
