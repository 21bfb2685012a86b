"""Two-factor sign-in for staff: a TOTP authenticator app (RFC 6238, via pyotp) and ten one-time
recovery codes.

* **Enrolment** keeps a fresh key *pending* in a signed form field (never in the database or a log)
  until the staff member types a code their app computes from it; only then are the key and the
  recovery codes stored, in one transaction.
* **Login** after a correct password, for an enrolled user, hands out a short-lived signed *step token*
  instead of a session; the second step posts it with a code. The token is bound to the user's session
  epoch, which a password change, a disabling or a reset of the second factor bumps.
* **A code counts once**: the time step of the last accepted code is stored and a code of that step or
  an earlier one is refused, so a code seen over someone's shoulder cannot be used again.
* **Wrong codes are failed logins**: they go to ``login_failures`` like wrong passwords and are
  throttled per account and address with the same limits (:mod:`citizenvoice.domain.accounts`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiosqlite
import pyotp
from itsdangerous import BadSignature, URLSafeTimedSerializer

from citizenvoice import db as database
from citizenvoice.domain import accounts
from citizenvoice.model.staff import User
from citizenvoice.settings import TWO_FACTOR_POLICIES
from citizenvoice.store import admin as admin_store
from citizenvoice.store import sessions as session_store
from citizenvoice.store import twofactor as store
from citizenvoice.store import users as user_store

T = TypeVar("T")

RECOVERY_CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so a code read off paper is not mistyped; 16 symbols = 80 bits.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CODE_LENGTH = 16
STEP_TOKEN_MAX_AGE = 5 * 60  # seconds between the password and the code at login
ENROL_TOKEN_MAX_AGE = 30 * 60  # seconds a pending key shown on the enrolment page stays usable
VALID_WINDOW = 1  # time steps either side of now that are accepted: a phone's clock may be 30 s off
_STEP_SALT = "login-second-step"
_ENROL_SALT = "two-factor-enrol"

WRONG_CODE = "验证码不正确。请输入验证器里这个账号现在显示的 6 位数字；总是不对时，请检查手机的时间是否准确。"
REPLAYED_CODE = "这个验证码刚刚已经用过。请等验证器换出下一个验证码（每 30 秒一个）后再输入。"
WRONG_RECOVERY = "恢复码不正确或已经用过。每个恢复码只能用一次。"
THROTTLED = "尝试次数过多，请 15 分钟后再试。"
NO_CODE = "请输入验证器上的 6 位验证码，或者一个恢复码。"
STEP_EXPIRED = "登录已超时（输入密码后要在 5 分钟内填写验证码），请重新输入用户名和密码。"
ENROL_EXPIRED = "这个二维码已经过期（超过 30 分钟），请用下面的新二维码重新添加，并删除验证器里旧的那一条。"
NEED_CURRENT = "请输入旧手机上验证器现在的验证码，或者一个恢复码。"
REQUIRED_CANNOT_DISABLE = "本站要求您的账号使用两步验证，不能关闭。换了手机请用「换一部手机」重新设置。"

ACTION_LABELS = {
    "account.2fa_enable": "开启两步验证",
    "account.2fa_replace": "更换两步验证的手机",
    "account.2fa_disable": "关闭两步验证",
    "account.2fa_recovery_codes": "重新生成恢复码",
    "account.2fa_recovery_used": "用恢复码登录",
    "user.2fa_reset": "重置两步验证",
}


class CodeRefused(ValueError):
    """A code that was not accepted: ``field`` is the form field to show ``message`` (Chinese) next to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class StepExpired(ValueError):
    """The login's step token is expired, forged, or no longer matches the account."""


@dataclass(frozen=True)
class Codes:
    """What a form sent to prove the second factor: a code from the app, or else a recovery code."""

    totp: str = ""
    recovery: str = ""


@dataclass(frozen=True)
class Verified:
    kind: str  # "totp" or "recovery"
    recovery_codes_left: int


@dataclass(frozen=True)
class SignedIn:
    user: User
    verified: Verified
    destination: str  # the local path the password step was asked to go on to


# ---------------------------------------------------------------------------------------------------
# Policy, keys and what an authenticator app is shown


def required_for(policy: str, user: User) -> bool:
    """Whether CITIZENVOICE_TWO_FACTOR obliges this staff member to use a second factor."""
    assert policy in TWO_FACTOR_POLICIES, policy
    return policy == "all" or (policy == "admins" and "admin" in user.roles)


def new_secret() -> str:
    return pyotp.random_base32()  # 32 symbols, 160 bits: RFC 4226's recommended key length


def grouped(secret: str) -> str:
    """The key in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code (Key Uri Format)."""
    issuer = issuer.replace(":", "").strip() or "CitizenVoice"
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(data: str) -> str:
    """The QR code of ``data`` as inline SVG markup, drawn here: no image service sees the key.

    segno is imported on first use: a worker pays its ~25 ms and ~1 MB only when someone enrols.
    """
    import segno

    code = segno.make(data, error="m", micro=False)
    return code.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff", svgclass="qr-code",
                           title="两步验证二维码")  # fmt: skip


def enrol_token(secret_key: str, user_id: int, secret: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_ENROL_SALT).dumps({"u": user_id, "s": secret})


def pending_secret(secret_key: str, token: str, user_id: int) -> str | None:
    """The key a signed enrolment field carries, if it is ours, recent and for this user."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=_ENROL_SALT).loads(token, max_age=ENROL_TOKEN_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != user_id or not isinstance(payload.get("s"), str):
        return None
    return payload["s"]


def step_token(secret_key: str, user: User, destination: str) -> str:
    """The login's step token: who passed the password, at which session epoch, and where they go next
    (checked at the password step; signed, so the second step need not check it again)."""
    payload = {"u": user.id, "e": user.session_epoch, "n": destination[:1000]}
    return URLSafeTimedSerializer(secret_key, salt=_STEP_SALT).dumps(payload)


def _step_ref(secret_key: str, token: str) -> tuple[int, int, str] | None:
    if not token or len(token) > 16_000:
        return None
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=_STEP_SALT).loads(token, max_age=STEP_TOKEN_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    user_id, epoch, destination = payload.get("u"), payload.get("e"), payload.get("n")
    if not isinstance(user_id, int) or not isinstance(epoch, int) or not isinstance(destination, str):
        return None
    return user_id, epoch, destination


# ---------------------------------------------------------------------------------------------------
# Codes


def new_recovery_codes() -> list[str]:
    """Ten codes such as ``7KQ2-M9XD-4HFP-W3TA``, shown once; only their hashes are stored."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def normalise_recovery_code(typed: str) -> str:
    """As typed (full-width, lower case, spaces or dashes anywhere, O for 0, I or L for 1) to the bare code."""
    folded = unicodedata.normalize("NFKC", typed[:100]).upper()
    bare = "".join(ch for ch in folded if ch.isalnum())
    return bare.translate(str.maketrans("OIL", "011"))


def recovery_hash(code: str) -> str:
    # SHA-256 without a key suffices: a code has 80 random bits, far past guessing even from a stolen
    # table, and unlike a keyed hash it keeps working when the secret key is replaced.
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


def one_field(typed: str) -> Codes:
    """A form's single 「验证码或恢复码」 field: six digits are an app's code, anything else a recovery code."""
    digits = _totp_digits(typed)
    if len(digits) == 6 and digits.isdigit():
        return Codes(totp=digits)
    return Codes(recovery=typed)


def _totp_digits(typed: str) -> str:
    return "".join(unicodedata.normalize("NFKC", typed[:40]).split())


def matching_step(secret: str, typed: str, at: float) -> int | None:
    """The time step (counter) whose code is ``typed``, within VALID_WINDOW steps of ``at``."""
    code = _totp_digits(typed)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


# ---------------------------------------------------------------------------------------------------
# Checking a code, with the login throttle


async def _check(
    conn: aiosqlite.Connection, user: User, enrolment: store.Enrolment, codes: Codes, ip_hash: str, now: float
) -> tuple[Verified | None, CodeRefused | None, bool]:
    """(what was accepted, or the refusal, and whether the refusal is a failure the throttle counts)."""
    failures = await user_store.recent_failures(conn, user.username, ip_hash, now - accounts.THROTTLE_WINDOW)
    field = "totp_code" if codes.totp.strip() or not codes.recovery.strip() else "recovery_code"
    if failures.pair >= accounts.THROTTLE_LIMIT or failures.address >= accounts.ADDRESS_LIMIT:
        # As for passwords: refused unchecked and uncounted, so waiting is what lifts it.
        return None, CodeRefused(field, THROTTLED), False
    if field == "totp_code":
        if not codes.totp.strip():
            return None, CodeRefused(field, NO_CODE), False
        step = matching_step(enrolment.secret, codes.totp, now)
        if step is None:
            return None, CodeRefused(field, WRONG_CODE), True
        if step <= enrolment.last_counter or not await store.advance_counter(conn, user.id, step):
            return None, CodeRefused(field, REPLAYED_CODE), True
        return Verified("totp", enrolment.recovery_codes_left), None, False
    if not await store.use_recovery_code(conn, user.id, recovery_hash(codes.recovery)):
        return None, CodeRefused(field, WRONG_RECOVERY), True
    await _audit(conn, user, "account.2fa_recovery_used", None, {"recovery_codes_left": enrolment.recovery_codes_left - 1})
    return Verified("recovery", enrolment.recovery_codes_left - 1), None, False


async def _record_failure(conn: aiosqlite.Connection, user: User, ip_hash: str, now: float) -> None:
    """A wrong code is a failed login: counted, and alerting the admins, as accounts.authenticate does."""
    failures = await user_store.recent_failures(conn, user.username, ip_hash, now - accounts.THROTTLE_WINDOW)
    await user_store.record_failure(conn, user.username, ip_hash, now)
    if failures.account + 1 == accounts.ACCOUNT_ALERT:
        await admin_store.record_audit(
            conn, actor_id=None, actor_name="login throttle", action="login.many_failures",
            target=f"user:{user.username}",
            after={"failures": accounts.ACCOUNT_ALERT, "window_minutes": accounts.THROTTLE_WINDOW // 60},
        )  # fmt: skip


async def with_second_factor(
    db, user: User, codes: Codes, ip_hash: str, then: Callable[[aiosqlite.Connection, Verified], Awaitable[T]]  # noqa: ANN001
) -> T:
    """Check the user's code and, in the same write transaction, do ``then(conn, verified)``.

    CodeRefused when the code is not accepted; the failure is recorded (committed) first.
    """
    now = time.time()
    async with db.write() as conn:
        await database.serialize(conn, f"2fa:{user.id}")  # one code, two requests: the replay guard holds
        enrolment = await store.get(conn, user.id)
        if enrolment is None:
            raise CodeRefused("totp_code", "您的账号没有开启两步验证。")
        verified, refusal, counts = await _check(conn, user, enrolment, codes, ip_hash, now)
        if verified is not None:
            return await then(conn, verified)
        if counts:
            await _record_failure(conn, user, ip_hash, now)
    assert refusal is not None
    raise refusal


async def _audit(conn: aiosqlite.Connection, user: User, action: str, before: object, after: object) -> None:
    await admin_store.record_audit(conn, actor_id=user.id, actor_name=user.username, action=action,
                                   target=f"user:{user.username}", before=before, after=after)  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# The use cases


async def is_enrolled(db, user_id: int) -> bool:  # noqa: ANN001
    async with db.read() as conn:
        return await store.is_enrolled(conn, user_id)


async def complete_login(db, secret_key: str, token: str, codes: Codes, ip_hash: str) -> SignedIn:  # noqa: ANN001
    """The login's second step: the user the step token names, once their code is accepted.

    StepExpired when the token is expired, forged, or was issued before the password changed, the
    account was disabled or the second factor was reset; CodeRefused for a code not accepted.
    """
    ref = _step_ref(secret_key, token)
    if ref is None:
        raise StepExpired()
    async with db.read() as conn:
        user = await user_store.get_by_id(conn, ref[0])
        enrolled = user is not None and await store.is_enrolled(conn, user.id)
    if user is None or user.disabled or user.session_epoch != ref[1] or not enrolled:
        raise StepExpired()

    async def accepted(conn: aiosqlite.Connection, verified: Verified) -> Verified:
        return verified

    return SignedIn(user, await with_second_factor(db, user, codes, ip_hash, accepted), ref[2])


async def confirm_enrolment(
    db, user: User, secret: str, typed: str, *, current: Codes, ip_hash: str, keep_session_id: int | None  # noqa: ANN001
) -> list[str]:
    """Store the key once ``typed`` proves the app has it; the new recovery codes, to show once.

    An enrolled user replacing their phone also proves the old factor (``current``: a code from the old
    app, or a recovery code), in the same transaction. The user's other sessions, opened with the
    password alone, end.
    """
    replacing = await is_enrolled(db, user.id)
    if replacing and not (current.totp.strip() or current.recovery.strip()):
        raise CodeRefused("current_code", NEED_CURRENT)
    step = matching_step(secret, typed, time.time())
    if step is None:
        raise CodeRefused("totp_code", WRONG_CODE)
    codes = new_recovery_codes()

    async def store_it(conn: aiosqlite.Connection) -> list[str]:
        await store.enrol(conn, user.id, secret, step, [recovery_hash(c) for c in codes])
        ended = await session_store.end_others(conn, user.id, keep_session_id)
        action = "account.2fa_replace" if replacing else "account.2fa_enable"
        await _audit(conn, user, action, None, {"recovery_codes": RECOVERY_CODE_COUNT, "sessions_ended": ended})
        return codes

    if not replacing:
        async with db.write() as conn:
            await database.serialize(conn, f"2fa:{user.id}")
            if await store.is_enrolled(conn, user.id):  # enrolled meanwhile, in another tab
                raise CodeRefused("current_code", NEED_CURRENT)
            return await store_it(conn)
    try:
        return await with_second_factor(db, user, current, ip_hash, lambda conn, _: store_it(conn))
    except CodeRefused as refusal:
        raise CodeRefused("current_code", refusal.message) from None


async def regenerate_recovery_codes(db, user: User, codes: Codes, ip_hash: str) -> list[str]:  # noqa: ANN001
    """Ten new recovery codes in place of all the old ones, once a current code is accepted."""
    fresh = new_recovery_codes()

    async def replace(conn: aiosqlite.Connection, _: Verified) -> list[str]:
        await store.replace_recovery_codes(conn, user.id, [recovery_hash(c) for c in fresh])
        await _audit(conn, user, "account.2fa_recovery_codes", None, {"recovery_codes": RECOVERY_CODE_COUNT})
        return fresh

    return await with_second_factor(db, user, codes, ip_hash, replace)


async def disable(db, user: User, codes: Codes, ip_hash: str, *, policy: str) -> None:  # noqa: ANN001
    """Turn the second factor off (a current code or a recovery code proves it is the owner)."""
    if required_for(policy, user):
        raise CodeRefused("totp_code", REQUIRED_CANNOT_DISABLE)

    async def remove(conn: aiosqlite.Connection, _: Verified) -> None:
        await store.remove(conn, user.id)
        await _audit(conn, user, "account.2fa_disable", {"two_factor": True}, {"two_factor": False})

    await with_second_factor(db, user, codes, ip_hash, remove)


async def reset(conn: aiosqlite.Connection, user: User, *, actor_id: int | None, actor_name: str) -> bool:
    """Remove a user's second factor for them (a lost phone and no recovery codes) and sign them out
    everywhere; audited as ``user.2fa_reset``. False if they had none. Runs in the caller's transaction;
    the admin form and the command line both come here."""
    if not await store.remove(conn, user.id):
        return False
    await admin_store.end_sessions(conn, user.id)  # also bumps the epoch: pending login steps die too
    await admin_store.record_audit(conn, actor_id=actor_id, actor_name=actor_name, action="user.2fa_reset",
                                   target=f"user:{user.username}", before={"two_factor": True},
                                   after={"two_factor": False, "sessions_ended": True})  # fmt: skip
    return True
