"""The resident's submission, as plain data: the field rules, their Chinese error messages, and the
tokens that make a submission idempotent and trackable. No HTTP and no SQL here.

Tokens, and why they are shaped this way:

* The **form token** is a random nonce signed with the app secret (itsdangerous, salt ``submit-form``)
  and issued with every GET of the form, so rendering the form writes nothing. When a valid POST is
  stored, ``sha256(nonce)`` goes into ``form_tokens`` in the same transaction as the essay: a retried or
  doubled POST finds it and gets the first essay instead of a second one.
* The secret **tracking token** is HMAC-SHA256(secret, "track:" + nonce): 256 bits, derived rather than
  stored, so a retry can be redirected to the very same ``/track/{token}`` although the database only
  ever holds the token's hash.
* A **look-up link** (``/track/code/{signed}``) is what a correct tracking code + phone pair buys: a
  signed, one-hour pass to the essay's page, because the real token cannot be recovered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

from citizenvoice.model.essays import AUTHOR_ROLES
from citizenvoice.store.essays import NewEssay
from citizenvoice.text.normalize import normalize_line, normalize_text, visible_length

FORM_SALT = "submit-form"
# Long enough to write an essay over a few evenings; a token older than this is refused (and reissued)
# so the table of used tokens never needs to outlive it.
FORM_TOKEN_MAX_AGE = 7 * 24 * 3600
LOOKUP_SALT = "track-lookup"
LOOKUP_MAX_AGE = 3600
HONEYPOT_FIELD = "website"
FORM_TOKEN_FIELD = "form_token"

BYLINE_MODES: dict[str, str] = {
    "full": "单位职务 + 姓名",
    "role_only": "只署身份，不署姓名",
}
PHOTO_TYPES = "image/jpeg,image/png,image/webp"
_CHECKED = frozenset({"yes", "on", "1", "true"})
_PHONE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_JUNK = re.compile(r"[\s\-]")
# An address the paper can write to, checked without being pedantic about the local part (people type
# what their provider gave them): exactly one @, no spaces, and a domain of at least two labels made of
# letters (any script: 例子.中国) and digits with inner hyphens, the last not all digits.
_EMAIL_LOCAL = re.compile(r"[^@\s]{1,64}")
_DOMAIN_LABEL = re.compile(r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?")
EMAIL_MAX = 254

Kind = Literal["line", "text", "choice", "direction", "phone", "email", "consent"]


@dataclass(frozen=True)
class FieldRule:
    name: str
    label: str
    kind: Kind
    required: bool
    min_len: int = 0
    max_len: int = 0
    choices: Mapping[str, str] = field(default_factory=dict)
    missing: str = ""  # the message when a required field is empty, if not the generic one


# The public contract of POST /submit, in the order the form shows the fields (and the error summary
# lists them). ``photo`` is checked separately, after everything else, because decoding it is costly.
FIELD_RULES: tuple[FieldRule, ...] = (
    FieldRule("headline", "标题", "line", True, 4, 30),
    FieldRule("body", "正文", "text", True, 200, 3000),
    FieldRule("direction", "征文方向", "direction", True, missing="请选择文章所属的征文方向。"),
    FieldRule("author_role", "作者身份", "choice", True, choices=AUTHOR_ROLES, missing="请选择您的身份。"),
    FieldRule("author_name", "姓名", "line", True, 2, 20),
    FieldRule("affiliation", "单位和职务", "line", False, 0, 60),
    FieldRule("byline_mode", "署名方式", "choice", True, choices=BYLINE_MODES, missing="请选择署名方式。"),
    FieldRule("phone", "手机号", "phone", True, missing="请填写手机号，方便编辑与您核实稿件。"),
    FieldRule("email", "电子邮箱", "email", False),
    FieldRule("consent_publish", "同意网站发表", "consent", True,
              missing="需要您同意在网站上发表，我们才能刊登这篇文章。"),
    FieldRule("consent_print", "同意见报", "consent", False),
    FieldRule("consent_privacy", "同意隐私说明", "consent", True, missing="请阅读并同意隐私说明。"),
)
RULES: dict[str, FieldRule] = {rule.name: rule for rule in FIELD_RULES}
FIELD_NAMES: tuple[str, ...] = tuple(RULES)
# Where each field's error sits in the page, so the summary can link to it.
FIELD_ORDER: tuple[str, ...] = (*FIELD_NAMES[:9], "photo", *FIELD_NAMES[9:])


@dataclass(frozen=True)
class Checked:
    """The outcome of validation: cleaned values to show again, errors by field, and the essay if none."""

    values: dict[str, str]
    errors: dict[str, str]
    essay: NewEssay | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def clean_phone(raw: str) -> str:
    """Full-width digits and the spaces or hyphens people type between groups are not part of the number."""
    number = _PHONE_JUNK.sub("", unicodedata.normalize("NFKC", raw))
    return number[3:] if number.startswith("+86") else number


def check_phone(phone: str) -> str | None:
    """The phone field's error, or None (the same rule and words as the form's phone field)."""
    return _error(RULES["phone"], phone, {})


def valid_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    return (
        bool(at)
        and len(value) <= EMAIL_MAX
        and _EMAIL_LOCAL.fullmatch(local) is not None
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _clean(rule: FieldRule, raw: str) -> str:
    if rule.kind == "text":
        return normalize_text(raw)
    if rule.kind == "phone":
        return clean_phone(raw)
    if rule.kind == "email":
        return unicodedata.normalize("NFKC", normalize_line(raw))
    if rule.kind == "consent":
        return "yes" if raw.strip().lower() in _CHECKED else ""
    return normalize_line(raw)


def _length_error(rule: FieldRule, value: str) -> str | None:
    count = visible_length(value)
    if count < rule.min_len:
        return f"{rule.label}至少需要 {rule.min_len} 个字，现在是 {count} 个字。"
    if rule.max_len and count > rule.max_len:
        return f"{rule.label}最多 {rule.max_len} 个字，现在是 {count} 个字，请删减。"
    return None


def _error(rule: FieldRule, value: str, directions: Mapping[str, int]) -> str | None:
    if not value:
        return (rule.missing or f"请填写{rule.label}。") if rule.required else None
    if rule.kind in ("line", "text"):
        return _length_error(rule, value)
    if rule.kind == "choice" and value not in rule.choices:
        return f"请从列表中选择{rule.label}。"
    if rule.kind == "direction" and value not in directions:
        return "请从列表中选择一个正在征稿的方向。"
    if rule.kind == "phone" and not _PHONE.match(value):
        return "请填写 11 位中国大陆手机号，例如 13812345678。"
    if rule.kind == "email" and not valid_email(value):
        return "电子邮箱格式不正确，请检查；没有可以不填。"
    return None


def check_fields(raw: Mapping[str, str], rules: tuple[FieldRule, ...], directions: Mapping[str, int]) -> Checked:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for rule in rules:
        values[rule.name] = value = _clean(rule, raw.get(rule.name, ""))
        message = _error(rule, value, directions)
        if message:
            errors[rule.name] = message
    return Checked(values, errors)


def validate(raw: Mapping[str, str], directions: Mapping[str, int]) -> Checked:
    """Check a submission against FIELD_RULES; ``directions`` maps each open board's slug to its id."""
    checked = check_fields(raw, FIELD_RULES, directions)
    if not checked.ok:
        return checked
    v = checked.values
    essay = NewEssay(
        direction_id=directions[v["direction"]],
        headline=v["headline"],
        body=v["body"],
        author_role=v["author_role"],
        author_name=v["author_name"],
        affiliation=v["affiliation"],
        byline_mode=v["byline_mode"],
        phone=v["phone"],
        email=v["email"],
        photo_path=None,
        consent_print=v["consent_print"] == "yes",
    )
    return Checked(v, {}, essay)


def validate_revision(raw: Mapping[str, str]) -> Checked:
    """A revised text (the author's after 需修改, a moderator's edit) obeys the same headline and body
    rules as the first submission."""
    return check_fields(raw, (RULES["headline"], RULES["body"]), {})


AUTHOR_REVISION_FIELDS = ("headline", "body", "author_name", "affiliation")


def validate_author_revision(raw: Mapping[str, str]) -> Checked:
    """The author's revision after 需修改: the text, and the byline (name, affiliation) the author may
    correct in the same step, by the rules of the first submission."""
    return check_fields(raw, tuple(RULES[name] for name in AUTHOR_REVISION_FIELDS), {})


# ---------------------------------------------------------------------------------------------------
# Tokens


def issue_form_token(secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt=FORM_SALT).dumps(secrets.token_urlsafe(24))


def read_form_token(secret: str, signed: str, *, max_age: int = FORM_TOKEN_MAX_AGE) -> str | None:
    """The nonce inside a form token we issued and that has not expired, else None."""
    if not signed or len(signed) > 200:
        return None
    try:
        nonce = URLSafeTimedSerializer(secret, salt=FORM_SALT).loads(signed, max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        return None
    return nonce if isinstance(nonce, str) and 16 <= len(nonce) <= 64 else None


def form_token_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def tracking_token(secret: str, nonce: str) -> str:
    digest = hmac.new(secret.encode(), f"track:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def lookup_token(secret: str, essay_id: int) -> str:
    return URLSafeTimedSerializer(secret, salt=LOOKUP_SALT).dumps({"essay": essay_id})


MESSAGE_LINK_SALT = "track-message"
MESSAGE_LINK_MAX_AGE = 180 * 24 * 3600  # a link in an SMS must outlive the essay's way to print


def message_link_token(secret: str, essay_id: int) -> str:
    """The tracking link a message carries: like a look-up link, but valid for months."""
    return URLSafeTimedSerializer(secret, salt=MESSAGE_LINK_SALT).dumps({"essay": essay_id})


def read_lookup_token(secret: str, signed: str, *, max_age: int = LOOKUP_MAX_AGE) -> int | None:
    """The essay id of a look-up link (one hour) or of a message's link (months), or None."""
    if not signed or len(signed) > 200:
        return None
    try:
        data = URLSafeTimedSerializer(secret, salt=LOOKUP_SALT).loads(signed, max_age=max_age)
    except BadSignature:
        try:
            data = URLSafeTimedSerializer(secret, salt=MESSAGE_LINK_SALT).loads(signed, max_age=MESSAGE_LINK_MAX_AGE)
        except BadSignature:
            return None
    essay_id = data.get("essay") if isinstance(data, dict) else None
    return essay_id if isinstance(essay_id, int) else None


# ---------------------------------------------------------------------------------------------------
# Finding an essay again by tracking code and the phone's last four digits


def check_lookup(code: str, tail: str) -> dict[str, str]:
    """Format errors only; whether the pair matches an essay is never told apart from an unknown code."""
    errors = {}
    if not code:
        errors["code"] = "请填写投稿编号，例如 CV-7K3F-9Q2M。"
    if not re.fullmatch(r"\d{4}", tail):
        errors["phone_tail"] = "请填写投稿时所留手机号的后四位数字。"
    return errors


def phone_tail_matches(phone: str | None, tail: str) -> bool:
    # Compared in constant time, and against a dummy when there is no phone, so the work done does not
    # depend on whether the code exists.
    return hmac.compare_digest((phone or "00000000000")[-4:], tail) and phone is not None


def mask_phone(phone: str | None) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) == 11 else ""


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"
