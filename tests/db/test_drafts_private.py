"""Drafts are not public: a draft generation is a planner's work in progress, so every read of it — the
generation, its validation, audit, export, grids, diffs, a grid's history, `?generation=<draft>` on grids,
maps, tiles and the lookup, the editor's default draft — answers 404 `generation_not_found` (as for a
generation that does not exist) to anyone but the planners and admins of its subdistrict (district-level
admins: every subdistrict's), and the listing leaves it out for them. Active and retired generations stay
public. Two subdistricts (the sample and tests/support/district.py) so that a planner of another
subdistrict is one of the callers refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import district
from tests.support.accounts import create_token
from tests.support.api import bearer
from tests.support.report_helpers import interior_point
from tests.support.sql import query

SAMPLE = "410105012"
MICRO = "410105012004003005"  # a micro-grid of the sample
TERTIARY = "410105012004003"
REFUSED = ("grid_worker", "dispatcher", "district_dispatcher", "other_planner")
READERS = ("planner", "district_admin", "admin")


@dataclass(frozen=True)
class Env:
    client: TestClient
    url: str
    tokens: dict[str, str]
    draft: int  # the sample's draft
    active: int  # the sample's active generation
    retired: int  # a retired generation of the sample


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with district.with_neighbour(
        db_factory, make_client, tmp_path_factory.mktemp("district"), rate_anonymous_writes_per_min=0
    ) as (url, client, admin, _built):
        tokens = {
            "grid_worker": create_token(url, "grid_worker", "网格员", subdistrict=SAMPLE),
            "dispatcher": create_token(url, "dispatcher", "调度员", subdistrict=SAMPLE),
            "district_dispatcher": create_token(url, "dispatcher", "区级调度", subdistrict=None),
            "other_planner": create_token(url, "planner", "第二街道规划", subdistrict=district.CODE),
            "planner": create_token(url, "planner", "本街道规划", subdistrict=SAMPLE),
            "admin": create_token(url, "admin", "本街道管理员", subdistrict=SAMPLE),
            "district_admin": admin,
        }
        planner = bearer(tokens["planner"])
        # A retired generation: a draft activated over the sample's active one, then a new draft.
        first = client.post("/generations", json={"note": "先启用的草稿"}, headers=planner)
        assert first.status_code == 201, first.text
        activated = client.post(f"/generations/{first.json()['id']}/activate", headers=planner)
        assert activated.status_code == 200, activated.text
        r = client.post("/generations", json={"note": "未公开的草稿"}, headers=planner)
        assert r.status_code == 201, r.text
        draft = int(r.json()["id"])
        by_status = {
            str(s): int(i)
            for i, s in query(
                url,
                "SELECT max(id), status FROM generations WHERE subdistrict_code = :s GROUP BY status",
                s=SAMPLE,
            )
        }
        assert by_status["draft"] == draft
        yield Env(client, url, tokens, draft, by_status["active"], by_status["retired"])


def _get(env: Env, path: str, who: str | None = None, **params: Any) -> Any:
    return env.client.get(path, params=params, headers=bearer(env.tokens[who]) if who else {})


def _reads(gen: int, active: int) -> list[tuple[str, dict[str, Any]]]:
    """Every read that names a generation (in its path or as `?generation=`)."""
    lon, lat = interior_point(MICRO)
    lon_lat = {"lon": lon, "lat": lat}
    return [
        (f"/generations/{gen}", {}),
        (f"/generations/{gen}/validation", {}),
        (f"/generations/{gen}/validation", {"format": "geojson"}),
        (f"/generations/{gen}/audit", {}),
        (f"/generations/{gen}/export", {"format": "geojson", "level": "micro"}),
        (f"/generations/{gen}/grids/{MICRO}", {}),
        (f"/generations/{active}/diff/{gen}", {}),
        (f"/generations/{gen}/diff/{active}", {}),
        ("/grids", {"generation": gen, "level": "tertiary"}),
        (f"/grids/{MICRO}", {"generation": gen}),
        ("/lookup", {**lon_lat, "generation": gen}),
        ("/tiles/micro_grids/10/835/406.mvt", {"generation": gen}),
        ("/maps/search", {"q": TERTIARY, "generation": gen}),
        ("/maps/labels", {"level": "micro", "bbox": "113.6,34.7,113.8,34.9", "generation": gen}),
        (f"/maps/popups/grids/{MICRO}", {"generation": gen}),
        ("/maps/coverage", {"generation": gen}),
        (f"/maps/grids/{MICRO}", {"generation": gen}),
        ("/maps/editor", {"generation": gen}),
    ]


@pytest.mark.parametrize("who", [None, *REFUSED])
def test_a_draft_is_not_found_by_anyone_but_its_planners(env: Env, who: str | None) -> None:
    for path, params in _reads(env.draft, env.active):
        r = _get(env, path, who, **params)
        assert r.status_code == 404, (who, path, r.status_code, r.text[:200])
        # Another subdistrict's principal is refused a path naming one of the sample's grids already by
        # the scope of the grid (repository/scope.grid_code_in): 404 all the same.
        codes = {"generation_not_found"} | ({"grid_not_found"} if who == "other_planner" else set())
        assert r.json()["code"] in codes, (who, path, r.text[:200])
    # The editor's default (the current draft) is not shown either.
    r = _get(env, "/maps/editor", who)
    assert r.status_code == 404 and r.json()["code"] == "generation_not_found", (who, r.text[:200])


@pytest.mark.parametrize("who", READERS)
def test_its_planners_and_admins_read_it(env: Env, who: str) -> None:
    for path, params in _reads(env.draft, env.active):
        r = _get(env, path, who, **params)
        assert r.status_code == 200, (who, path, r.status_code, r.text[:200])
    assert f"代次 {env.draft}" in _get(env, "/maps/editor", who).text
    assert _get(env, f"/generations/{env.draft}", who).json()["status"] == "draft"


def test_a_draft_looks_like_a_generation_that_does_not_exist(env: Env) -> None:
    missing = 10**6
    for path, params in _reads(missing, env.active):
        draft_path = path.replace(str(missing), str(env.draft))
        draft_params = {k: (env.draft if v == missing else v) for k, v in params.items()}
        gone, hidden = _get(env, path, **params), _get(env, draft_path, **draft_params)
        assert (gone.status_code, gone.json()["code"]) == (hidden.status_code, hidden.json()["code"]), path


@pytest.mark.parametrize("who", [None, *REFUSED, *READERS])
def test_the_listing_leaves_drafts_out_for_all_but_their_planners(env: Env, who: str | None) -> None:
    listed = {g["id"]: g["status"] for g in _get(env, "/generations", who).json()}
    if who != "other_planner":  # (a subdistrict's principal lists its own subdistrict's generations only)
        assert listed.get(env.active) == "active" and listed.get(env.retired) == "retired", (who, listed)
    assert (env.draft in listed) == (who in READERS), (who, listed)
    if who not in READERS:
        assert "draft" not in listed.values(), (who, listed)


@pytest.mark.parametrize("who", [None, "grid_worker", "district_dispatcher"])
def test_active_and_retired_generations_stay_public(env: Env, who: str | None) -> None:
    for gen in (env.active, env.retired):
        for path, params in _reads(gen, env.active):
            if path.startswith("/maps/editor") or "/diff/" in path and gen == env.active:
                continue  # the editor is the planners' page; a generation's diff with itself is moot
            r = _get(env, path, who, **params)
            assert r.status_code == 200, (who, gen, path, r.status_code, r.text[:200])


def test_a_grids_history_shows_no_draft_to_the_public(env: Env) -> None:
    def versions(who: str | None) -> list[int]:
        r = _get(env, f"/grids/{MICRO}/history", who)
        assert r.status_code == 200, r.text
        body = r.json()
        audit_gens = {e["generation_id"] for e in body["audit"]}
        if who is None:
            assert env.draft not in audit_gens
        return [v["generation"] for v in body["versions"]]

    assert env.draft in versions("planner")
    public = versions(None)
    assert env.draft not in public and {env.active, env.retired} <= set(public)


def test_writes_to_a_draft_keep_their_role_checks(env: Env) -> None:
    """Writes are refused by role (401/403) as before; the draft rule is about reads."""
    r = env.client.post(f"/generations/{env.draft}/activate")
    assert r.status_code == 401, r.text
    r = env.client.post(f"/generations/{env.draft}/activate", headers=bearer(env.tokens["dispatcher"]))
    assert r.status_code == 403, r.text


# ------------------------------------------------------------------------- titles from the subdistrict rows


def _title(page: str) -> str:
    return page.split("<title>", 1)[1].split("</title>", 1)[0]


def test_page_titles_name_the_subdistrict_meant_not_a_fixed_one(env: Env) -> None:
    """The console names the caller's subdistrict (the district when it has none); the resident pages name
    the only subdistrict, or the district when there are several (as here)."""
    other = create_token(env.url, "planner", "第二街道规划员", subdistrict=district.CODE)
    for path in ("/console", "/console/reports/1", "/console/generations"):
        role = "planner" if path.endswith("generations") else "dispatcher"
        own = _get(env, path, role if role == "dispatcher" else "planner")
        assert own.status_code == 200, (path, own.text[:200])
        assert _title(own.text).endswith("— 未来路街道网格化治理"), _title(own.text)
        if role == "planner":
            theirs = env.client.get(path, headers=bearer(other))
            assert _title(theirs.text).endswith(f"— {district.NAME}网格化治理"), _title(theirs.text)
        else:
            theirs = _get(env, path, "district_dispatcher")
            assert _title(theirs.text).endswith("— 金水区网格化治理"), _title(theirs.text)
    for path in ("/report", "/track"):
        page = env.client.get(path)
        assert page.status_code == 200, page.text[:200]
        assert _title(page.text).endswith("— 金水区网格化治理") and "未来路" not in page.text, _title(
            page.text
        )
