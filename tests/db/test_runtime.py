"""The app's one runtime (api/runtime.py) and the generic snapshot holder (services/snapshots.py): built
once per app and handed out by the typed dependencies; snapshots swapped whole, kept while the database is
down, rebuilt only when their version probe moves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from geo_grid import db
from geo_grid.api.app import create_app
from geo_grid.api.deps import (
    AddressBookDep,
    DirectoryDep,
    PastDirectoriesDep,
    RuntimeDep,
    SessionFactoryDep,
    SettingsDep,
)
from geo_grid.api.runtime import Runtime, runtime_of
from geo_grid.embedded import free_port
from geo_grid.errors import ServiceUnavailable
from geo_grid.services import lookup as lookup_service
from geo_grid.services.directory import directory_holder
from geo_grid.services.snapshots import SnapshotHolder
from geo_grid.settings import Settings
from tests.support.report_helpers import interior_point, micro_grids


def _dead_factory() -> Any:
    """A session factory whose database cannot be reached (nothing listens on the port)."""
    url = f"postgresql+psycopg2://geo_grid@127.0.0.1:{free_port()}/geo_grid"
    return db.make_session_factory(db.make_engine(url, 1, 1))


def test_runtime_is_built_once_per_app_and_handed_out_by_the_dependencies(
    make_client: Callable[..., Any], ro_db_url: str
) -> None:
    seen: list[tuple[int, ...]] = []
    app = create_app(Settings(database_url=ro_db_url))
    with pytest.raises(ServiceUnavailable):
        runtime_of(app)  # before the lifespan there is none

    def probe(
        runtime: RuntimeDep,
        settings: SettingsDep,
        factory: SessionFactoryDep,
        directory: DirectoryDep,
        book: AddressBookDep,
        past: PastDirectoriesDep,
    ) -> dict[str, bool]:
        seen.append((id(runtime), id(settings), id(factory), id(directory), id(book), id(past)))
        return {
            "settings": settings is runtime.settings,
            "factory": factory is runtime.session_factory,
            "directory": directory is runtime.directory.current and directory is not None,
            "book": book is runtime.address_book.current and book is not None,
            "past": past is runtime.past_directories,
        }

    app.add_api_route("/_probe", probe)
    with TestClient(app) as client:
        runtime = runtime_of(app)
        assert isinstance(runtime, Runtime)
        for _ in range(3):
            assert client.get("/_probe").json() == dict.fromkeys(
                ("settings", "factory", "directory", "book", "past"), True
            )
            assert client.get("/health").status_code == 200
        assert runtime_of(app) is runtime
        assert len(set(seen)) == 1  # the same runtime and the same parts, request after request
        assert runtime.directory.reloads == 1 and runtime.address_book.reloads == 1  # loaded once
        with make_client(ro_db_url) as other:  # another app: its own runtime
            assert runtime_of(other.app) is not runtime
            assert runtime_of(other.app).token_cache is not runtime.token_cache
    with pytest.raises(ServiceUnavailable):
        runtime_of(app)  # closed with the lifespan


def test_directory_holder_swaps_whole_lookups_during_reloads_see_a_complete_snapshot(ro_db_url: str) -> None:
    factory = db.make_session_factory(db.make_engine(ro_db_url, 2))
    holder = directory_holder()
    first = holder.reload(factory)
    assert first is not None
    points = [interior_point(code) for code in sorted(micro_grids())[:20]]
    expected = [lookup_service.place(first, x, y).micro for x, y in points]
    stop = threading.Event()
    snapshots: list[Any] = [first]
    errors: list[BaseException] = []

    def reload_loop() -> None:
        try:
            while not stop.is_set():
                snapshots.append(holder.reload(factory))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=reload_loop)
    thread.start()
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline or len(seen) < 3:
            directory = holder.current  # one read: the whole lookup answers from this snapshot
            assert directory is not None
            seen.add(id(directory))
            placed = [lookup_service.place(directory, x, y).micro for x, y in points]
            assert [p.code if p else None for p in placed] == [e.code if e else None for e in expected]
            assert directory.counts() == first.counts()
            assert time.monotonic() < deadline + 30, "the reloads did not swap"
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert len(seen) >= 3  # lookups did run across several swaps
    assert seen <= {id(s) for s in snapshots}  # only ever a snapshot that was swapped in whole
    factory.kw["bind"].dispose()


def test_a_snapshot_is_never_seen_half_built() -> None:
    """Generic holder: the build fills its snapshot slowly; readers only ever see finished ones."""
    version = [0]
    size = 50

    def probe(session: Session) -> object:
        return version[0]

    def build(session: Session, v: object) -> dict[int, object]:
        snapshot: dict[int, object] = {}
        for i in range(size):
            snapshot[i] = v
            time.sleep(0.0002)
        return snapshot

    class NoSession:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    factory: Any = NoSession
    holder: SnapshotHolder[dict[int, object]] = SnapshotHolder("test", probe, build)
    assert holder.current is None
    holder.reload(factory)
    stop = threading.Event()
    swapped: list[bool] = []

    def writer() -> None:
        while not stop.is_set():
            version[0] += 1
            swapped.append(holder.refresh_if_changed(factory))

    thread = threading.Thread(target=writer)
    thread.start()
    versions: list[Any] = []
    try:
        deadline = time.monotonic() + 10
        while len(set(versions)) < 5 and time.monotonic() < deadline:
            snap = holder.current
            assert snap is not None and len(snap) == size and len(set(snap.values())) == 1
            versions.append(snap[0])
    finally:
        stop.set()
        thread.join(10)
    assert versions == sorted(versions) and len(set(versions)) >= 5
    assert swapped and all(swapped)  # the probe moved each time: each refresh rebuilt
    before = holder.reloads
    assert holder.refresh_if_changed(factory) is False  # the probe did not move: nothing is rebuilt
    assert holder.reloads == before


def test_holders_keep_serving_the_old_snapshot_while_the_database_is_down(ro_db_url: str) -> None:
    factory = db.make_session_factory(db.make_engine(ro_db_url, 1))
    holder = directory_holder()
    held = holder.reload(factory)
    version = holder.version
    dead = _dead_factory()
    with pytest.raises(Exception, match="(?i)connect"):
        holder.reload(dead)
    with pytest.raises(Exception, match="(?i)connect"):
        holder.refresh_if_changed(dead)
    assert holder.current is held and holder.version == version
    assert holder.refresh_if_changed(factory) is False  # back up, nothing changed: no rebuild
    factory.kw["bind"].dispose()
    dead.kw["bind"].dispose()
