"""Whether the signed-in staff member still has to enrol a second factor before using staff pages
(CITIZENVOICE_TWO_FACTOR; the rules are in :mod:`citizenvoice.domain.twofactor`)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from citizenvoice.domain import twofactor
from citizenvoice.model.staff import User

ENROL_PATH = "/account/2fa"
ENROL_FIRST_MESSAGE = "请先开启两步验证：本站要求您的账号登录时输入验证器上的验证码。"
_SCOPE_KEY = "citizenvoice.two_factor_pending"


async def enrolment_pending(request: HTTPConnection, user: User) -> bool:
    """True while the setting requires a second factor of this user and they have none yet.

    Only when the setting applies does it cost a query (one primary-key lookup per staff request)."""
    if not twofactor.required_for(request.app.state.settings.two_factor, user):
        return False
    if _SCOPE_KEY not in request.scope:
        request.scope[_SCOPE_KEY] = not await twofactor.is_enrolled(request.app.state.db, user.id)
    return request.scope[_SCOPE_KEY]
