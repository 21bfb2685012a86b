"""The JSON API's request and response shapes, as msgspec Structs.

These types are the contract twice over: request bodies are decoded and type-checked against them
(web.jsonapi.read_json), and /api/v1/openapi.json is generated from them (openapi.py), so the schema a
client reads cannot drift from what the server accepts and answers. Content rules (lengths, choices,
the Chinese messages) stay in domain.submission, shared with the web form.

Why msgspec rather than pydantic: one 650 KB wheel with no dependencies (pydantic brings
pydantic-core, annotated-types and typing-inspection, ~5 MB), decoding and validation in one C pass,
and JSON Schema 2020-12 output, which is what OpenAPI 3.1 uses.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

IdempotencyKey = Annotated[str, Meta(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_\-.:]+$",
                                     description="客户端生成的随机串（例如 UUID）；同一键重复提交只存一篇")]
Offset = Annotated[list[int], Meta(min_length=2, max_length=2, description="[起, 止)，按 Unicode 字符计")]
Cursor = Annotated[str | None, Meta(description="下一页的游标；为 null 表示没有更多")]


class Base(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=False):
    pass


# ---------------------------------------------------------------------------------------------------
# Errors


class ErrorDetail(Base):
    code: str
    message: Annotated[str, Meta(description="给用户看的中文说明")]
    fields: dict[str, str] = {}


class ErrorBody(Base):
    error: ErrorDetail


# ---------------------------------------------------------------------------------------------------
# Reading


class DirectionRef(Base):
    slug: str
    name: str


class Direction(Base):
    slug: str
    name: str
    description: str
    pillar: str
    pillar_name: str
    published: Annotated[int, Meta(ge=0, description="已公开的文章数")]
    open_for_submission: bool


class Pillar(Base):
    key: str
    name: str
    directions: list[str]


class Directions(Base):
    pillars: list[Pillar]
    directions: list[Direction]


class Printed(Base):
    label: Annotated[str, Meta(description="例如 刊于《锦州日报》2026年11月24日 T08版")]
    edition: str | None


class EssaySummary(Base):
    id: int
    url: str
    headline: str
    byline: str
    excerpt: str
    direction: DirectionRef
    author_role: str
    featured: bool
    published_at: str
    updated_at: str
    printed: Printed | None
    photo_url: str | None


class Board(Base):
    direction: Direction
    role: str | None
    essays: list[EssaySummary]
    next_cursor: Cursor


class Essay(Base):
    id: int
    url: str
    headline: str
    byline: Annotated[str, Meta(description="署名，与网页和见报一致")]
    paragraphs: list[str]
    direction: DirectionRef
    author_role: str
    featured: bool
    published_at: str
    updated_at: str
    printed: Printed | None
    photo_url: str | None


class Highlighted(Base):
    text: str
    highlights: Annotated[list[Offset], Meta(description="命中的片段在 text 中的位置")]


class SearchHit(Base):
    id: int
    url: str
    direction: DirectionRef
    published_at: str
    headline: Highlighted
    byline: Highlighted
    snippet: Highlighted


class SearchResults(Base):
    query: str
    terms: list[str]
    total: int
    total_exact: bool  # false: more than ``total`` matches (counting stops at 1,000)
    results: list[SearchHit]
    next_cursor: Cursor


class Change(Base):
    id: int
    change: Literal["published", "removed"]
    updated_at: str
    essay: Annotated[EssaySummary | None, Meta(description="change 为 removed 时为 null")]


class Changes(Base):
    changes: list[Change]
    cursor: Annotated[str, Meta(description="下次查询时带上它，只取此后的变化")]
    more: bool


# ---------------------------------------------------------------------------------------------------
# Writing, for residents


class Submission(Base, kw_only=True):
    headline: str
    body: str
    direction: str
    author_role: str
    author_name: str
    affiliation: str = ""
    byline_mode: str = "full"
    phone: str
    email: str = ""
    phone_code: str = ""
    consent_publish: bool
    consent_privacy: bool
    consent_print: bool = False
    idempotency_key: IdempotencyKey


class PhoneCodeRequest(Base):
    phone: str


class PhoneCodeSent(Base):
    sent_to: Annotated[str, Meta(description="打了码的手机号，例如 139****5678")]
    expires_in: Annotated[int, Meta(description="验证码有效秒数")]
    resend_after: Annotated[int, Meta(description="多少秒后可以再要一个")]


class Submitted(Base):
    tracking_code: str
    tracking_token: Annotated[str, Meta(description="作者的秘密凭据：只给作者本人，勿公开")]
    track_url: str


class HistoryEntry(Base):
    at: str
    by: Literal["author", "editors", "system"]
    action: str
    label: str


class SignoffRequest(Base):
    version: int
    requested_at: str
    answer: Literal["accepted", "objected"] | None
    headline: str
    byline: str
    body: str


class Tracked(Base):
    tracking_code: str
    status: str
    status_label: str
    version: Annotated[int, Meta(description="撤回或修改时带上，防止覆盖别人刚做的变化")]
    headline: str
    body: str
    byline: str
    direction: DirectionRef
    submitted_at: str
    updated_at: str
    reason: Annotated[str | None, Meta(description="未采用的原因")]
    note_for_author: Annotated[str | None, Meta(description="编辑请您修改时写给您的话")]
    can_withdraw: bool
    can_revise: bool
    public_url: str | None
    signoff: SignoffRequest | None
    history: list[HistoryEntry]


class Withdraw(Base):
    version: int | None = None


class Revision(Base):
    headline: str
    body: str
    version: int | None = None


class SignoffAnswer(Base):
    answer: Literal["accepted", "objected"]
    note: str = ""


# ---------------------------------------------------------------------------------------------------
# WeChat


class JssdkConfig(Struct, kw_only=True, rename={"app_id": "appId", "nonce_str": "nonceStr"}):
    app_id: str
    timestamp: int
    nonce_str: str
    signature: str


def encode(value: object) -> bytes:
    return msgspec.json.encode(value)
