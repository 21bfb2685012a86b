"""Phone verification: a 6-digit code by SMS, 10 minutes, 5 tries, kept only as a keyed hash; a new one
after 60 s; at most ``code_limit_per_phone`` a day per phone and ``code_limit_per_address`` an hour per
address. A verified phone is then remembered by the browser (a signed cookie) for a while.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from citizenvoice import db
from citizenvoice.domain import ratelimit
from citizenvoice.domain.keys import keyed_hash
from citizenvoice.domain.messaging import notify
from citizenvoice.settings import Settings
from citizenvoice.store import messages as store

CODE_TTL = dt.timedelta(minutes=10)
RESEND_AFTER = 60  # seconds
MAX_TRIES = 5
REMEMBER_SALT = "verified-phone"

NO_CODE = "请先点「获取验证码」，再填写短信里的 6 位数字。"
BAD_FORMAT = "验证码是短信里的 6 位数字，请检查后重新填写。"
WRONG = "验证码不对，请核对短信里的 6 位数字后重新填写（还可以再试 {left} 次）。"
EXPIRED = "验证码已过期（有效期 10 分钟），请重新点「获取验证码」。"
TOO_MANY = "验证码输错次数太多，请重新点「获取验证码」获取新的验证码。"
TOO_SOON = "验证码刚刚发出，请 {seconds} 秒后再重新获取。"


class CodeRefused(Exception):
    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _now() -> dt.datetime:
    return dt.datetime.fromtimestamp(ratelimit.now(), dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def phone_key(secret: str, phone: str) -> str:
    return keyed_hash(secret, "phone-code", phone)


def _code_hash(secret: str, phone: str, code: str) -> str:
    return keyed_hash(secret, "phone-code-value", f"{phone}:{code}")


async def issue(conn: Any, secret: str, settings: Settings, phone: str, address: str) -> None:
    """Store a new code and queue its SMS in the caller's transaction; CodeRefused if too soon or
    over a limit (then nothing is written)."""
    now = _now()
    await db.serialize(conn, f"code:{phone_key(secret, phone)}")  # "too soon" is read, then a code written
    latest = await store.latest_code(conn, phone_key(secret, phone))
    if latest is not None:
        age = (now - dt.datetime.fromisoformat(latest.created_at.replace("Z", "+00:00"))).total_seconds()
        if age < RESEND_AFTER:
            wait = max(1, int(RESEND_AFTER - age))
            raise CodeRefused(TOO_SOON.format(seconds=wait), wait)
    address_limit, phone_limit = ratelimit.code_limits(settings)
    try:
        await ratelimit.hit(conn, secret, [(address_limit, address), (phone_limit, phone)])
    except ratelimit.RateLimited as exc:
        raise CodeRefused(exc.message, exc.retry_after) from exc
    code = f"{secrets.randbelow(10**6):06d}"
    await store.add_code(conn, phone_key(secret, phone), _code_hash(secret, phone, code),
                         at=_iso(now), expires_at=_iso(now + CODE_TTL))
    await notify.queue(conn, f"code:{phone_key(secret, phone)}:{_iso(now)}", "sms", phone,
                       "verification_code", {"code": code})


@dataclass(frozen=True)
class Checked:
    ok: bool
    error: str = ""


async def check(conn: Any, secret: str, phone: str, code: str) -> Checked:
    """Check (and on success use up) the phone's latest code, in the caller's transaction. A wrong
    code counts a try, so the caller commits this transaction whatever the outcome."""
    code = code.strip().replace(" ", "")
    if not code:
        return Checked(False, NO_CODE)
    if len(code) != 6 or not code.isdigit():
        return Checked(False, BAD_FORMAT)
    latest = await store.latest_code(conn, phone_key(secret, phone))
    if latest is None or latest.used:
        return Checked(False, NO_CODE if latest is None else EXPIRED)
    if latest.expires_at < _iso(_now()):
        return Checked(False, EXPIRED)
    if latest.tries >= MAX_TRIES:
        return Checked(False, TOO_MANY)
    if not hmac.compare_digest(latest.code_hash, _code_hash(secret, phone, code)):
        await store.count_try(conn, latest.id)
        left = MAX_TRIES - latest.tries - 1
        return Checked(False, WRONG.format(left=left) if left else TOO_MANY)
    await store.use_code(conn, latest.id)
    return Checked(True)


def remember(secret: str, phone: str) -> str:
    """The cookie value that lets this browser skip the code for ``phone`` for a while."""
    return URLSafeTimedSerializer(secret, salt=REMEMBER_SALT).dumps(phone_key(secret, phone))


def remembered(secret: str, cookie: str, phone: str, *, max_age: int) -> bool:
    if not cookie or len(cookie) > 300 or not phone:
        return False
    try:
        value = URLSafeTimedSerializer(secret, salt=REMEMBER_SALT).loads(cookie, max_age=max_age)
    except BadSignature:
        return False
    return isinstance(value, str) and hmac.compare_digest(value, phone_key(secret, phone))
