"""Routes that must say who may use them.

Every route is built with :func:`route`, which requires an ``access`` argument: ``PUBLIC`` or a set of
staff roles. The role check therefore cannot be forgotten, and the permission-matrix test reads
``route.access`` off every route in the app.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal
from urllib.parse import quote

from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from citizenvoice.text.numbers import ID_PATTERN
from citizenvoice.web import sessions, twofactor

Role = Literal["admin", "moderator", "editor", "reviewer", "chief"]
PUBLIC: frozenset[str] = frozenset()
Endpoint = Callable[[Request], Awaitable[Response]]


class IdConvertor(Convertor[int]):
    """``{name:id}``: a database id, 1 to 10**18 - 1. Anything else (0, a sign, 30 digits) matches no
    route and is a plain 404, so an id that SQLite cannot hold never reaches a handler."""

    regex = ID_PATTERN

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


class AccessRoute(Route):
    access: frozenset[str]


def route(
    path: str,
    endpoint: Endpoint,
    *,
    access: frozenset[str] | Sequence[Role],
    methods: Sequence[str] = ("GET",),
    name: str | None = None,
    before_two_factor: bool = False,
) -> AccessRoute:
    """``before_two_factor``: a staff route open to someone the two-factor setting still sends to
    enrolment (the enrolment itself); every other staff route sends them there first."""
    roles = frozenset(access)
    wrapped = endpoint if not roles else _guarded(endpoint, roles, before_two_factor)
    built = AccessRoute(path, wrapped, methods=list(methods), name=name or endpoint.__name__)
    built.access = roles
    return built


def _guarded(endpoint: Endpoint, roles: frozenset[str], before_two_factor: bool = False) -> Endpoint:
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        user = await sessions.current_user(request)
        if user is None:
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            raise HTTPException(401, "请先登录。")
        # admins can do everything staff can do
        if not (user.roles & roles) and "admin" not in user.roles:
            raise HTTPException(403, "您的账号没有执行此操作的权限。")
        if not before_two_factor and await twofactor.enrolment_pending(request, user):
            if request.method == "GET":
                return RedirectResponse(twofactor.ENROL_PATH, status_code=303)
            raise HTTPException(403, twofactor.ENROL_FIRST_MESSAGE)
        return await endpoint(request)

    return guarded
