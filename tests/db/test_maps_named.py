"""The map routes follow the API's one rule for a subdistrict a request names (services/subdistricts.meant):
with the sample (未来路街道) and its neighbour (tests/support/district.py) in one database, a subdistrict's
caller naming another subdistrict — or anyone naming an unknown one — on GET /maps/coverage,
GET /maps/incidents and GET /tiles/reports/… is answered 404 `subdistrict_not_found`, as if it did not
exist; a district-level or anonymous caller naming one, and a subdistrict's caller naming its own, get its
map. A duty popup (GET /maps/popups/{road_segments|courtyards}/{id}) of another subdistrict's place is 404
to a subdistrict's caller (services/maps.duty_popup, repository/maps.duty_area_in)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import district
from tests.support.api import bearer
from tests.support.sql import scalar

SAMPLE = "410105012"
NEIGHBOUR = district.CODE
UNKNOWN = "410105099"  # a well-formed subdistrict code that is no row
NEIGHBOUR_PLACES = {kind: district.PLACES[kind][0] for kind in ("road_segments", "courtyards")}
# A z10 tile holding the sample whole (tests/db/test_tiles.py).
TILE = "10/835/406"
CALLERS = ("district", "home", "other", None)  # None: anonymous


@dataclass(frozen=True)
class Env:
    client: TestClient
    tokens: dict[str, str]
    active: dict[str, int]  # subdistrict code → its active generation
    places: dict[str, dict[str, str]]  # subdistrict code → duty kind → a place's id of it
    url: str


@pytest.fixture(scope="module")
def env(
    db_factory: Callable[[], str], make_client: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    with district.with_neighbour(db_factory, make_client, tmp_path_factory.mktemp("named")) as (
        url,
        client,
        admin,
        built,
    ):
        district.add_places(url, built.micro)
        tokens = district.dispatcher_tokens(url)
        active = district.active_generations(url)
        assert set(active) == {SAMPLE, NEIGHBOUR}
        sample = {
            "road_segments": scalar(url, "SELECT min(segment_id) FROM road_segments WHERE subdistrict_code = :s",
                                    s=SAMPLE),
            "courtyards": scalar(url, "SELECT min(courtyard_id) FROM courtyards WHERE subdistrict_code = :s",
                                 s=SAMPLE),
        }  # fmt: skip
        assert all(sample.values())
        yield Env(client, tokens, active, {SAMPLE: sample, NEIGHBOUR: dict(NEIGHBOUR_PLACES)}, url)


def _get(env: Env, path: str, who: str | None) -> Any:
    return env.client.get(path, headers=bearer(env.tokens[who]) if who else {})


def _own(who: str | None) -> str | None:
    return {"home": SAMPLE, "other": NEIGHBOUR}.get(who or "")


def _not_found(r: Any, code: str = "subdistrict_not_found") -> None:
    assert r.status_code == 404, r.text[:300]
    assert r.json()["code"] == code, r.text[:300]


PAGES = ["/maps/coverage", "/maps/incidents"]


@pytest.mark.parametrize("page", PAGES)
def test_a_subdistricts_caller_naming_another_subdistrict_is_answered_404(env: Env, page: str) -> None:
    for who, named in (("home", NEIGHBOUR), ("other", SAMPLE)):
        _not_found(_get(env, f"{page}?subdistrict={named}", who))
    # With a generation of its own named too: the subdistrict named still has to be its own.
    _not_found(_get(env, f"{page}?subdistrict={NEIGHBOUR}&generation={env.active[SAMPLE]}", "home"))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", CALLERS)
def test_an_unknown_subdistrict_is_404_to_everyone(env: Env, page: str, who: str | None) -> None:
    _not_found(_get(env, f"{page}?subdistrict={UNKNOWN}", who))


@pytest.mark.parametrize("page", PAGES)
def test_a_subdistrict_named_by_whom_the_rule_allows_is_its_map(env: Env, page: str) -> None:
    """District-level and anonymous callers naming either subdistrict, a subdistrict's caller its own,
    and (unchanged) a caller naming none: the page answers, titled with that subdistrict's name."""
    titles = {SAMPLE: "未来路街道", NEIGHBOUR: district.NAME}
    cases = [(who, sub) for who in ("district", None) for sub in (SAMPLE, NEIGHBOUR)]
    cases += [("home", SAMPLE), ("other", NEIGHBOUR)]
    for who, sub in cases:
        r = _get(env, f"{page}?subdistrict={sub}", who)
        assert r.status_code == 200, (who, sub, r.text[:300])
        other = NEIGHBOUR if sub == SAMPLE else SAMPLE
        assert titles[sub] in r.text and titles[other] not in r.text, (who, sub)
    for who in ("home", "other"):  # naming none: the caller's own
        r = _get(env, page, who)
        assert r.status_code == 200, r.text[:300]
        assert titles[str(_own(who))] in r.text


def test_the_report_tiles_follow_the_same_rule(env: Env) -> None:
    """The tiled incident page's report tiles ask the page's subdistrict again (incident_query)."""
    path = f"/tiles/reports/{TILE}.mvt"
    _not_found(_get(env, f"{path}?subdistrict={NEIGHBOUR}", "home"))
    _not_found(_get(env, f"{path}?subdistrict={UNKNOWN}", "district"))
    for who, sub in (("home", SAMPLE), ("district", NEIGHBOUR), (None, NEIGHBOUR), ("other", NEIGHBOUR)):
        assert _get(env, f"{path}?subdistrict={sub}", who).status_code == 200, (who, sub)


@pytest.mark.parametrize("kind", sorted(NEIGHBOUR_PLACES))
def test_a_duty_popup_of_another_subdistrict_is_404_to_a_subdistricts_caller(env: Env, kind: str) -> None:
    for place_of in (SAMPLE, NEIGHBOUR):
        area = env.places[place_of][kind]
        for who in CALLERS:
            r = _get(env, f"/maps/popups/{kind}/{area}", who)
            if _own(who) in (None, place_of):  # district-level, anonymous, or its own subdistrict's
                assert r.status_code == 200, (who, area, r.text[:300])
                assert r.json()["id"] == area
            else:
                _not_found(r, "not_found")
    _not_found(_get(env, f"/maps/popups/{kind}/NO-SUCH-1", "district"), "not_found")


def test_the_page_of_another_subdistricts_grid_is_404_to_a_subdistricts_caller(env: Env) -> None:
    """GET /maps/grids/{code} opens the map of the code's subdistrict: to a subdistrict's caller only its
    own grids (404 `grid_not_found`, as for GET /grids/{code}); district-level and anonymous callers any."""
    grid = {
        sub: str(scalar(env.url, "SELECT min(code) FROM grids WHERE generation_id = :g AND level = 'micro'",
                        g=gen))
        for sub, gen in env.active.items()
    }  # fmt: skip
    for who, other in (("home", NEIGHBOUR), ("other", SAMPLE)):
        _not_found(_get(env, f"/maps/grids/{grid[other]}", who), "grid_not_found")
        assert _get(env, f"/maps/grids/{grid[_own(who) or SAMPLE]}", who).status_code == 200
    for who in ("district", None):
        for sub in (SAMPLE, NEIGHBOUR):
            assert _get(env, f"/maps/grids/{grid[sub]}", who).status_code == 200, (who, sub)
