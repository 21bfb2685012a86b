"""Walks every route the app serves: each must say who may use it (an AccessRoute), and every non-public
route must turn away anonymous visitors (GET → 303 to /login, POST → 401/403) and staff without the
role (403). A route added without an access declaration fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from factories import make_essay
from starlette.routing import BaseRoute, Mount
from support import add_user, csrf_from, login

from citizenvoice.app import app_routes
from citizenvoice.model.staff import ROLES
from citizenvoice.web.routing import AccessRoute

PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?\}")


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        if isinstance(route, Mount):
            if route.path == "/static":
                continue
            yield from walk(list(route.routes), prefix + route.path)
        else:
            yield prefix + getattr(route, "path", ""), route


def concrete(path: str, essay_id: int) -> str:
    """Fill path parameters: a real essay id for ints, a dummy token-like string otherwise."""

    def fill(match: re.Match[str]) -> str:
        convertor = match.group(2)
        if convertor in ("int", "id"):
            return str(essay_id)
        if convertor == "path":
            return "x/y.txt"
        return "dummy-" + "a" * 40

    return PARAM.sub(fill, path)


ALL = list(walk(app_routes()))
STAFF = [(path, route) for path, route in ALL if isinstance(route, AccessRoute) and route.access]


def test_every_route_declares_its_access() -> None:
    untyped = [path for path, route in ALL if not isinstance(route, AccessRoute)]
    assert untyped == [], f"routes built without routing.route(access=...): {untyped}"
    for _, route in ALL:
        assert isinstance(route, AccessRoute)
        assert route.access <= set(ROLES), route.access


def test_the_moderation_area_is_for_every_review_level() -> None:
    # 初审 (moderator), 复审 (reviewer), 终审 (chief) all work in /moderate; which of them may decide on
    # an essay is the stage's business (test_stage_permission_matrix below).
    moderate = [(p, r) for p, r in ALL if p.startswith("/moderate")]
    assert len(moderate) >= 9
    assert all(r.access == {"moderator", "reviewer", "chief"} for _, r in moderate)  # type: ignore[attr-defined]


def _methods(route: BaseRoute) -> list[str]:
    return sorted(m for m in (getattr(route, "methods", None) or {"GET"}) if m != "HEAD")


@pytest.fixture
def essay_id(client) -> int:
    return make_essay(client).id


def test_anonymous_visitors_are_sent_to_login_or_refused(client, essay_id: int) -> None:
    assert STAFF, "no staff routes found"
    token = csrf_from(client.get("/login").text)
    for path, route in STAFF:
        url = concrete(path, essay_id)
        for method in _methods(route):
            if method == "GET":
                response = client.get(url)
                assert response.status_code == 303, (url, response.status_code)
                assert response.headers["location"].startswith("/login?next="), url
            else:
                response = client.request(method, url, data={"csrf_token": token})
                assert response.status_code in (401, 403), (method, url, response.status_code)


# Admins pass every role check by design (routing._guarded), so only the other roles can be "wrong".
@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_staff_without_the_role_get_403(client, essay_id: int, role: str) -> None:
    # A valid CSRF token (it survives the login), so a 403 can only come from the role check.
    token = csrf_from(client.get("/login").text)
    add_user(client, f"only-{role}", role)
    login(client, f"only-{role}")
    checked = 0
    for path, route in STAFF:
        if role in route.access:  # type: ignore[attr-defined]
            continue
        url = concrete(path, essay_id)
        for method in _methods(route):
            response = client.request(method, url, data={"csrf_token": token} if method != "GET" else None)
            assert response.status_code == 403, (role, method, url, response.status_code)
            checked += 1
    assert checked > 0


def test_admins_may_open_the_moderation_queue(client) -> None:
    add_user(client, "boss", "admin")
    login(client, "boss")
    assert client.get("/moderate").status_code == 200


# ---------------------------------------------------------------------------------------------------
# Who decides at which review level (三审制). The routes let every review role in; the essay's stage
# decides who may act. Admins decide at every level.

DECIDES = {
    # review_levels -> stage -> the roles whose approve is accepted there
    1: {1: {"moderator", "admin"}},
    2: {1: {"moderator", "admin"}, 2: {"chief", "admin"}},
    3: {1: {"moderator", "admin"}, 2: {"reviewer", "admin"}, 3: {"chief", "admin"}},
}
REVIEW_ROLES = ["moderator", "reviewer", "chief", "editor", "admin"]


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_stage_permission_matrix(client, levels: int) -> None:
    from moderation_support import Staff, body_about, decide
    from review_support import put_at_stage, set_levels

    team = Staff(client)
    for role in REVIEW_ROLES:
        team.add(f"as-{role}", role)
    assert set_levels(team.act_as("as-admin"), levels).status_code == 303
    n = 0
    for stage, allowed in DECIDES[levels].items():
        for role in REVIEW_ROLES:
            n += 1
            essay_id = make_essay(client, body=body_about(100 + n)).id
            put_at_stage(client, essay_id, stage)
            response = decide(team.act_as(f"as-{role}"), essay_id, "approve")
            expected = 303 if role in allowed else 403
            assert response.status_code == expected, (levels, stage, role, response.status_code)


@pytest.mark.parametrize("role", ["reviewer", "chief"])
def test_the_new_review_roles_stay_out_of_the_print_desk_and_admin(client, role: str) -> None:
    add_user(client, f"r-{role}", role)
    login(client, f"r-{role}")
    assert client.get("/moderate").status_code == 200
    assert client.get("/editor").status_code == 403
    assert client.get("/admin").status_code == 403
