"""Moderation: screening a submission, claims on queue items, decisions (one at a time or in bulk), and
queue health (the ``citizenvoice queue-report`` command prints it: ops/reports.py).

Rules moderators rely on:

* **Claims.** Opening an item claims it for ``CLAIM_SECONDS``; while the claim lives nobody else may
  decide on it unless they take it over explicitly, which is recorded. A claim that has run out is as
  good as none, so there is nothing to sweep.
* **Decisions are a contract.** Each carries the version the moderator saw; a stale one changes
  nothing. A reject needs a reason from the admin-editable list, a revise needs a note to the author,
  an unpublish needs a reason. Status changes go through :mod:`citizenvoice.lifecycle`, which checks
  the one state machine, records the event and keeps the search index in step.
* **Screening is explainable.** Every stored flag says what matched and why; the item page re-screens
  the live text so highlights always sit on the right characters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from citizenvoice import db
from citizenvoice.domain import lifecycle, screening, submission
from citizenvoice.domain.screening import Flag, Screener, ScreenerCache
from citizenvoice.model import review
from citizenvoice.model.essays import STATUS_LABELS, Action, Actor, IllegalTransition, Status
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import moderation as store
from citizenvoice.store import utcnow, wordlists
from citizenvoice.store.essays import Essay
from citizenvoice.text import numbers
from citizenvoice.text.normalize import normalize_line, normalize_text

CLAIM_SECONDS = 10 * 60
DUPLICATE_WINDOW = timedelta(days=90)
NOTE_MAX = 1000
REASON_MAX = 200

# Indirection so tests can move time (claim expiry) without sleeping.
clock = time.time

FLAG_LABELS: dict[str, str] = {
    "banned": "禁用词",
    "suspect": "可疑词",
    "phone": "手机号",
    "id_number": "身份证号",
    "email": "电子邮箱",
    "url": "网址",
    "duplicate": "疑似重复",
}

DECISION_ACTIONS: dict[str, Action | None] = {
    "approve": Action.APPROVE,
    "reject": Action.REJECT,
    "revise": Action.REVISE,
    "unpublish": Action.UNPUBLISH,
    "edit": None,  # a new revision, no status change
    "send_back": None,  # to a lower review level, no status change
}
DECISION_LABELS: dict[str, str] = {
    "approve": "通过并发表",
    "reject": "不予采用",
    "revise": "退回修改",
    "unpublish": "从网站撤下",
    "edit": "修订文字",
    "send_back": "退回下一级",
}
EDITABLE = frozenset({Status.PENDING, Status.PUBLISHED})


def decision_label(action: str, stage: int, levels: int) -> str:
    """What a decision does at this review stage: a lower level's approve hands the essay on."""
    if action == "approve" and not review.is_final(stage, levels):
        nxt = review.effective_stage(stage, levels) + 1
        return f"通过{review.stage_name(stage, levels)}，送{review.stage_name(nxt, levels)}"
    if action == "send_back":
        return "退回" + (review.stage_name(stage - 1, levels) if stage > 1 else "下一级")
    return DECISION_LABELS[action]


@dataclass(frozen=True)
class Reviewer:
    """Who decides, as the review levels see them: their roles and the site's current review_levels."""

    user_id: int
    roles: frozenset[str] = frozenset({"moderator"})
    levels: int = 1


class WrongLevel(Exception):
    """The essay waits at a review level this user does not decide at; nothing was written."""

    def __init__(self, stage: int, levels: int) -> None:
        super().__init__(f"stage {stage} of {levels}")
        self.stage, self.levels = stage, levels

    @property
    def message(self) -> str:
        name = review.stage_name(self.stage, self.levels)
        return f"这篇文章正在「{review.stage_label(self.stage, self.levels)}」，需由负责{name}的同事作出决定。"


class SameEyes(Exception):
    """三审制 wants another pair of eyes: this user already passed the essay at a lower level."""

    message = "您已在前一级审核中通过了这篇文章；按多级审核的规定，这一级须由另一位同事作出决定。"


async def check_level(conn: aiosqlite.Connection, essay: Essay, who: Reviewer, action: str) -> int:
    """The stage the decision is taken at; WrongLevel or SameEyes when this user may not take it."""
    stage = review.effective_stage(essay.review_stage, who.levels)
    if essay.status != Status.PENDING:
        if action == "send_back":
            raise IllegalTransition(essay.status, Action.APPROVE, Actor.MODERATOR)
        return stage
    if not review.may_decide(who.roles, stage, who.levels):
        raise WrongLevel(stage, who.levels)
    if action == "approve" and stage > 1 and await store.passed_below(conn, essay.id, who.user_id, stage):
        raise SameEyes()
    return stage


async def decides_here(conn: aiosqlite.Connection, essay: Essay, who: Reviewer) -> bool:
    """Whether opening the essay should claim it for this user: they decide at its level and did not
    pass it at a lower one (the next level's colleague must not find it held by them)."""
    if essay.status != Status.PENDING:
        return True
    stage = review.effective_stage(essay.review_stage, who.levels)
    if not review.may_decide(who.roles, stage, who.levels):
        return False
    return stage == 1 or not await store.passed_below(conn, essay.id, who.user_id, stage)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def moderator(user_id: int) -> lifecycle.ActorRef:
    # Admins act here as moderators: the revision table knows no "admin" actor, and the user id
    # records exactly who it was.
    return lifecycle.ActorRef(Actor.MODERATOR, user_id)


# ---------------------------------------------------------------------------------------------------
# Screening


async def load_screener(conn: aiosqlite.Connection, cache: ScreenerCache) -> Screener:
    """The screener for the current list version; the automaton is rebuilt only when the version moved."""
    version = await wordlists.words_version(conn)
    return cache.get(version) or cache.install(version, **await wordlists.load_words(conn))


def _masked(flag: Flag) -> str:
    if not flag.is_pii or flag.kind == "url":
        return flag.matched
    text = flag.matched
    if flag.kind == "email" and "@" in text:
        local, domain = text.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return f"{text[:3]}****{text[-4:]}" if len(text) > 8 else "****"


def _stored(field_name: str, flags: Sequence[Flag]) -> list[store.StoredFlag]:
    return [
        store.StoredFlag(field_name, f.kind, f.term, _masked(f), f.start, f.end, f.explanation) for f in flags
    ]


@dataclass(frozen=True)
class Screened:
    headline: screening.ScreeningResult
    body: screening.ScreeningResult
    duplicates: list[tuple[int, float]] = field(default_factory=list)

    @property
    def high_risk(self) -> bool:
        return self.headline.high_risk or self.body.high_risk

    @property
    def flags(self) -> tuple[Flag, ...]:
        return self.headline.flags + self.body.flags


@dataclass(frozen=True)
class Prescreened:
    """Everything screening computes from a text alone, worked out before the write transaction: the
    CPU work (word automaton, personal data, MinHash) then never holds the single writer's lock."""

    words_version: int
    headline: str
    body: str
    results: Screened
    band_keys: list[str]
    shingles: frozenset[str]
    signature: bytes  # the body's MinHash signature (screening.signature_to_bytes)


def prescreen(screener: Screener, words_version: int, headline: str, body: str) -> Prescreened:
    results = Screened(screener.screen(headline), screener.screen(body))
    shingles = screening.shingles(body)
    signature = screening.signature_of_shingles(shingles)
    keys = screening.lsh_band_keys(signature)
    return Prescreened(words_version, headline, body, results, keys, shingles, screening.signature_to_bytes(signature))


async def prescreen_text(db: Any, cache: ScreenerCache, headline: str, body: str) -> Prescreened:
    """:func:`prescreen` with the worker's cached screener, for a text about to be stored."""
    if db.dialect == "sqlite":
        version = wordlists.peek_words_version(db.peek())
    else:
        async with db.read() as conn:
            version = await wordlists.words_version(conn)
    screener = cache.get(version)
    if screener is None:
        async with db.read() as conn:
            version = await wordlists.words_version(conn)
            screener = cache.get(version) or cache.install(version, **await wordlists.load_words(conn))
    return prescreen(screener, version, headline, body)


async def screen_submission(conn: aiosqlite.Connection, essay_id: int, screener: Screener) -> Screened:
    """Screen the essay's current text: store its flags, its high-risk mark and its duplicate links.

    Call it inside the write transaction that stored the text (submission, resubmission, a moderator's
    edit), so the queue never shows a text without its findings.
    """
    essay = await essay_store.get_essay(conn, essay_id)
    if essay is None:
        raise lifecycle.EssayNotFound(essay_id)
    version = await wordlists.words_version(conn)
    return await store_screening(conn, essay_id, prescreen(screener, version, essay.headline, essay.body))


async def store_screening(conn: aiosqlite.Connection, essay_id: int, found: Prescreened) -> Screened:
    """Store what :func:`prescreen` found in the essay's text (the text the caller just stored) and link
    its near-duplicates, inside that write transaction."""
    result = found.results
    flags = _stored("headline", result.headline.flags) + _stored("body", result.body.flags)
    await store.replace_flags(conn, essay_id, flags, list_version=found.words_version, at=utcnow())
    await store.set_high_risk(conn, essay_id, result.high_risk)
    links = await link_duplicates(conn, essay_id, found)
    return Screened(result.headline, result.body, links)


async def screen_essay(
    conn: aiosqlite.Connection, cache: ScreenerCache, essay_id: int, prescreened: Prescreened | None = None
) -> Screened:
    """:func:`screen_submission` with the worker's cached screener: the one call a handler that stores
    a text (the submission form, the author's resubmission) needs, inside its write transaction.

    ``prescreened``, from :func:`prescreen_text` on the very text just stored, is used when the word
    lists have not changed since; otherwise the text is screened again here with the current lists."""
    if prescreened is not None and prescreened.words_version == await wordlists.words_version(conn):
        return await store_screening(conn, essay_id, prescreened)
    return await screen_submission(conn, essay_id, await load_screener(conn, cache))


async def link_duplicates(conn: aiosqlite.Connection, essay_id: int, found: Prescreened) -> list[tuple[int, float]]:
    """Link the essay to every essay of the last 90 days whose text is ≥ 80 % similar.

    MinHash LSH bands find candidates without comparing against every essay. A candidate whose stored
    signature rules out 80 % (:func:`screening.could_be_near_duplicate`) is dropped; every other one is
    confirmed with the exact shingle Jaccard similarity of its text, so a stored link always means ≥ 80 %.
    """
    await store.replace_bands(conn, essay_id, found.band_keys, found.signature)
    since = iso(datetime.now(UTC) - DUPLICATE_WINDOW)
    candidates = await store.duplicate_candidates(conn, essay_id, found.band_keys, since=since)
    unsure = [c.id for c in candidates
              if c.signature is None or screening.could_be_near_duplicate(found.signature, c.signature)]  # fmt: skip
    links = []
    for other_id, body in (await store.essay_bodies(conn, unsure)).items():
        similarity = screening.set_similarity(found.shingles, screening.shingles(body))
        if similarity >= screening.DUPLICATE_THRESHOLD:
            links.append((other_id, similarity))
    await store.replace_duplicates(conn, essay_id, links, at=utcnow())
    return links


# ---------------------------------------------------------------------------------------------------
# Claims


class ClaimedByOther(Exception):
    """Someone else holds a live claim on the essay; nothing was written."""

    def __init__(self, claim: store.Claim, now: float) -> None:
        super().__init__(f"essay {claim.essay_id} is claimed by user {claim.user_id}")
        self.claim = claim
        self.minutes_left = max(1, round((claim.expires_at - now) / 60))

    @property
    def message(self) -> str:
        return (
            f"「{self.claim.holder}」正在审核这篇文章（还有约 {self.minutes_left} 分钟），"
            "您现在不能对它作出决定。如确需处理，请先点击「接手审核」。"
        )


def live(claim: store.Claim | None, now: float) -> store.Claim | None:
    return claim if claim is not None and claim.expires_at > now else None


async def current_claim(conn: aiosqlite.Connection, essay_id: int) -> store.Claim | None:
    return live(await store.get_claim(conn, essay_id), clock())


async def claim(conn: aiosqlite.Connection, essay_id: int, user_id: int, *, takeover: bool = False) -> store.Claim:
    """Claim (or extend one's own claim on) the essay for CLAIM_SECONDS; ClaimedByOther unless taking over."""
    await db.serialize(conn, f"claim:{essay_id}")  # two moderators claiming at once: one holds it
    now = clock()
    held = live(await store.get_claim(conn, essay_id), now)
    if held is not None and held.user_id != user_id:
        if not takeover:
            raise ClaimedByOther(held, now)
        await store.record_claim_event(
            conn, essay_id, user_id, "takeover", previous_user_id=held.user_id, at=utcnow()
        )
    await store.put_claim(conn, essay_id, user_id, now=now, expires=now + CLAIM_SECONDS)
    claimed = await store.get_claim(conn, essay_id)
    assert claimed is not None
    return claimed


async def release(conn: aiosqlite.Connection, essay_id: int, user_id: int) -> bool:
    """Give up one's own live claim; False if there was none to give up."""
    await db.serialize(conn, f"claim:{essay_id}")
    held = live(await store.get_claim(conn, essay_id), clock())
    if held is None or held.user_id != user_id:
        return False
    await store.delete_claim(conn, essay_id)
    await store.record_claim_event(conn, essay_id, user_id, "release", previous_user_id=None, at=utcnow())
    return True


async def ensure_not_claimed_by_other(conn: aiosqlite.Connection, essay_id: int, user_id: int) -> None:
    await db.serialize(conn, f"claim:{essay_id}")  # a claim taken meanwhile is seen, not overtaken
    now = clock()
    held = live(await store.get_claim(conn, essay_id), now)
    if held is not None and held.user_id != user_id:
        raise ClaimedByOther(held, now)


# ---------------------------------------------------------------------------------------------------
# Decisions


class InvalidDecision(Exception):
    """The decision form is incomplete; ``errors`` maps field names to Chinese messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Decision:
    action: str
    version: int
    reason: str = ""
    note: str = ""
    direction_id: int | None = None
    direction_name: str = ""
    featured: bool = False
    headline: str = ""
    body: str = ""
    to_stage: int | None = None


def parse_version(raw: str) -> int | None:
    return numbers.parse_int(raw)


async def _reason_label(conn: aiosqlite.Connection, raw: str, *, kind: str = "reject") -> str | None:
    """The label of an active reason of ``kind``, chosen by id or by its exact label."""
    for reason in await wordlists.rejection_reasons(conn, kind=kind):
        if raw == str(reason.id) or raw == reason.label:
            return reason.label
    return None


async def parse_decision(conn: aiosqlite.Connection, raw: Mapping[str, str]) -> Decision:
    """The decision a form asks for, or InvalidDecision with a message for each field at fault."""
    action = raw.get("action", "").strip()
    if action not in DECISION_ACTIONS:
        raise InvalidDecision({"action": "请选择一个审核操作：通过、不予采用、退回修改、修订文字、退回下一级或撤下。"})
    version = parse_version(raw.get("version", ""))
    errors: dict[str, str] = {}
    if version is None:
        errors["version"] = "缺少版本号或版本号无效，请刷新页面后再操作。"
    note = normalize_text(raw.get("note", ""))
    if len(note) > NOTE_MAX:
        errors["note"] = f"备注最多 {NOTE_MAX} 个字，现在是 {len(note)} 个字。"
    parts: dict[str, Any] = {"note": note}
    parse = {"approve": _approve_parts, "reject": _reject_parts, "revise": _revise_parts,
             "unpublish": _unpublish_parts, "edit": _edit_parts, "send_back": _send_back_parts}[action]  # fmt: skip
    parts.update(await parse(conn, raw, note, errors))
    if errors:
        raise InvalidDecision(errors)
    assert version is not None
    return Decision(action=action, version=version, **parts)


async def _approve_parts(
    conn: aiosqlite.Connection, raw: Mapping[str, str], note: str, errors: dict[str, str]
) -> dict[str, Any]:
    parts: dict[str, Any] = {"featured": raw.get("featured", "") in ("1", "on", "yes", "true")}
    slug = raw.get("direction", "").strip()
    if slug:
        direction = await direction_store.get_by_slug(conn, slug)
        if direction is None or direction.archived:
            errors["direction"] = "请从列表中选择一个正在征稿的方向。"
        else:
            parts.update(direction_id=direction.id, direction_name=direction.name)
    return parts


async def _reject_parts(
    conn: aiosqlite.Connection, raw: Mapping[str, str], note: str, errors: dict[str, str]
) -> dict[str, Any]:
    raw_reason = raw.get("reason", "").strip()
    label = await _reason_label(conn, raw_reason) if raw_reason else None
    if label is None:
        errors["reason"] = "请从列表中选择不予采用的理由，作者会看到这条理由。"
    return {"reason": label or ""}


async def _revise_parts(
    conn: aiosqlite.Connection, raw: Mapping[str, str], note: str, errors: dict[str, str]
) -> dict[str, Any]:
    """A ready-made reason (admin-editable, kind "revise"), a note, or both: the author reads the
    reason first, then the note."""
    raw_reason = raw.get("reason", "").strip()
    label = await _reason_label(conn, raw_reason, kind="revise") if raw_reason else None
    if raw_reason and label is None:
        errors["reason"] = "请从列表中选择退回修改的理由，或留空只写修改意见。"
    elif label is None and len(note) < 5:
        errors["note"] = "请写下给作者的修改意见（至少 5 个字），或选择一条修改理由，作者会在查进度页看到。"
    if label is None:
        return {}
    return {"reason": label, "note": f"{label}。\n\n{note}" if note else f"{label}。"}


async def _unpublish_parts(
    conn: aiosqlite.Connection, raw: Mapping[str, str], note: str, errors: dict[str, str]
) -> dict[str, Any]:
    raw_reason = normalize_line(raw.get("reason", ""))
    reason = await _reason_label(conn, raw_reason) or raw_reason
    if len(reason) < 2:
        errors["reason"] = "请写明撤下的理由。"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"理由最多 {REASON_MAX} 个字。"
    return {"reason": reason}


async def _send_back_parts(
    conn: aiosqlite.Connection, raw: Mapping[str, str], note: str, errors: dict[str, str]
) -> dict[str, Any]:
    if len(note) < 5:
        errors["note"] = "请写下退回的理由（至少 5 个字），下一级审核会看到。"
    raw_stage = raw.get("to_stage", "").strip()
    to_stage = numbers.parse_int(raw_stage, low=1) if raw_stage else None
    if raw_stage and (to_stage is None or to_stage not in review.LEVEL_CHOICES):
        errors["to_stage"] = "请选择退回到哪一级。"
    return {"to_stage": to_stage}


async def _edit_parts(
    conn: aiosqlite.Connection, raw: Mapping[str, str], note: str, errors: dict[str, str]
) -> dict[str, Any]:
    checked = submission.validate_revision({"headline": raw.get("headline", ""), "body": raw.get("body", "")})
    errors.update(checked.errors)
    return {"headline": checked.values["headline"], "body": checked.values["body"]}


async def decide(
    conn: aiosqlite.Connection, essay_id: int, decision: Decision, user_id: int, *, city: str, screener: Screener,
    who: Reviewer | None = None,
) -> Essay:  # fmt: skip
    """Apply one decision in the caller's transaction, at the review level the essay waits at.

    Raises ClaimedByOther, WrongLevel, SameEyes, lifecycle.StaleVersion, IllegalTransition or
    lifecycle.EssayNotFound, each before anything was written (the caller's transaction rolls back on
    any exception anyway). ``who`` defaults to a moderator on a one-level site.
    """
    who = who or Reviewer(user_id)
    await ensure_not_claimed_by_other(conn, essay_id, user_id)
    current = await essay_store.get_essay(conn, essay_id)
    if current is None:
        raise lifecycle.EssayNotFound(essay_id)
    stage = await check_level(conn, current, who, decision.action)
    actor = moderator(user_id)
    if decision.action == "edit":
        essay = await _edit(conn, essay_id, decision, actor, city=city, screener=screener)
    elif decision.action == "send_back":
        essay = await _send_back(conn, essay_id, decision, actor, stage, who.levels)
    elif decision.action == "approve" and current.status == Status.PENDING and not review.is_final(stage, who.levels):
        essay = await lifecycle.move_stage(
            conn, essay_id, "pass", actor, version=decision.version, from_stage=stage, to_stage=stage + 1,
            note=_event_note(decision), changes=_changes(decision),
        )  # fmt: skip
    else:
        action = DECISION_ACTIONS[decision.action]
        assert action is not None
        essay = await lifecycle.transition(
            conn, essay_id, action, actor, city=city, version=decision.version, reason=decision.reason,
            note=_event_note(decision), changes=_changes(decision),
            review_stage=stage if current.status == Status.PENDING else None,
        )  # fmt: skip
    await store.delete_claim(conn, essay_id)  # decided: the item leaves the moderator's hands
    return essay


async def _send_back(
    conn: aiosqlite.Connection, essay_id: int, decision: Decision, actor: lifecycle.ActorRef, stage: int, levels: int
) -> Essay:
    target = decision.to_stage or stage - 1
    if stage == 1 or not 1 <= target < stage:
        raise InvalidDecision({"to_stage": "只能退回到比当前更低的一级审核。"})
    note = f"退回{review.stage_name(target, levels)}：{decision.note}"
    return await lifecycle.move_stage(
        conn, essay_id, "send_back", actor, version=decision.version, from_stage=stage, to_stage=target, note=note
    )


def _event_note(decision: Decision) -> str:
    extras = []
    if decision.action == "approve" and decision.direction_name:
        extras.append(f"征文方向定为「{decision.direction_name}」")
    if decision.action == "approve" and decision.featured:
        extras.append("设为精选")
    return "；".join([*extras, decision.note] if decision.note else extras)


def _changes(decision: Decision) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if decision.action == "approve":
        if decision.direction_id is not None:
            changes["direction_id"] = decision.direction_id
        if decision.featured:
            changes["featured"] = 1
    elif decision.action == "unpublish":
        # As with a rejection, the tracking page tells the author why (the reason) and shows the
        # moderator's words to them (the note): both, since the form asks for both.
        changes.update(reject_reason=decision.reason, author_note=decision.note)
    return changes


async def _edit(
    conn: aiosqlite.Connection, essay_id: int, decision: Decision, actor: lifecycle.ActorRef, *, city: str,
    screener: Screener,
) -> Essay:  # fmt: skip
    current = await essay_store.get_essay(conn, essay_id)
    if current is None:
        raise lifecycle.EssayNotFound(essay_id)
    if current.status not in EDITABLE:
        raise IllegalTransition(current.status, Action.APPROVE, Actor.MODERATOR)
    if current.version != decision.version:
        raise lifecycle.StaleVersion()
    if (current.headline, current.body) == (decision.headline, decision.body):
        raise InvalidDecision({"body": "文字没有变化。请修改后再保存，或直接作出其他决定。"})
    await lifecycle.edit_text(
        conn, essay_id, actor, city=city, version=decision.version, headline=decision.headline,
        body=decision.body, note=decision.note or "审核员修订文字",
    )  # fmt: skip
    await screen_submission(conn, essay_id, screener)
    essay = await essay_store.get_essay(conn, essay_id)
    assert essay is not None
    return essay


# ---------------------------------------------------------------------------------------------------
# Redaction


class NothingToRedact(Exception):
    message = "这篇文章里没有发现需要隐去的个人信息。"


async def redact(
    conn: aiosqlite.Connection, essay_id: int, user_id: int, *, version: int | None, city: str, screener: Screener,
    who: Reviewer | None = None,
) -> tuple[Essay, int]:  # fmt: skip
    """Replace every phone number, ID number, e-mail address and URL in headline and body in one step.

    Stored as a new revision (the original stays in the revision history for the record). Returns the
    essay and how many spans were redacted.
    """
    await ensure_not_claimed_by_other(conn, essay_id, user_id)
    essay = await essay_store.get_essay(conn, essay_id)
    if essay is None:
        raise lifecycle.EssayNotFound(essay_id)
    if essay.status not in EDITABLE:
        raise IllegalTransition(essay.status, Action.APPROVE, Actor.MODERATOR)
    await check_level(conn, essay, who or Reviewer(user_id), "edit")
    headline_pii = screening.detect_pii(essay.headline)
    body_pii = screening.detect_pii(essay.body)
    count = len(headline_pii) + len(body_pii)
    if count == 0:
        raise NothingToRedact()
    kinds = sorted({FLAG_LABELS[f.kind] for f in headline_pii + body_pii})
    await lifecycle.edit_text(
        conn, essay_id, moderator(user_id), city=city, version=version,
        headline=screening.redact(essay.headline, headline_pii), body=screening.redact(essay.body, body_pii),
        note=f"隐去个人信息：{'、'.join(kinds)}，共 {count} 处",
    )  # fmt: skip
    await screen_submission(conn, essay_id, screener)
    redacted = await essay_store.get_essay(conn, essay_id)
    assert redacted is not None
    return redacted, count


# ---------------------------------------------------------------------------------------------------
# Bulk


BULK_ACTIONS = ("approve", "reject")


@dataclass(frozen=True)
class BulkOutcome:
    essay_id: int
    ok: bool
    message: str
    headline: str = ""


def parse_bulk_items(values: Sequence[str], versions: Mapping[str, str]) -> list[tuple[int, int | None]]:
    """(essay id, version) pairs from ``id:version`` checkbox values or ``id`` plus ``version_<id>``."""
    items: dict[int, int | None] = {}
    for value in values:
        raw_id, _, raw_version = value.strip().partition(":")
        essay_id = numbers.parse_int(raw_id, low=1)
        if essay_id is None:
            continue
        items[essay_id] = parse_version(raw_version or versions.get(f"version_{essay_id}", ""))
    return list(items.items())


def refusal(exc: Exception) -> str:
    """The Chinese message for a refused decision."""
    if isinstance(exc, ClaimedByOther | IllegalTransition | NothingToRedact | WrongLevel | SameEyes):
        return exc.message
    if isinstance(exc, lifecycle.StaleVersion):
        return lifecycle.StaleVersion.message
    if isinstance(exc, lifecycle.EssayNotFound):
        return "没有找到这篇文章。"
    if isinstance(exc, InvalidDecision):
        return "；".join(exc.errors.values())
    raise exc


async def decide_bulk(
    db: Any, items: Sequence[tuple[int, int | None]], raw: Mapping[str, str], user_id: int, *, city: str,
    screener: Screener, who: Reviewer | None = None,
) -> list[BulkOutcome]:  # fmt: skip
    """Apply one decision to each item in its own transaction, each version-checked, checked against
    the level the essay waits at, and recorded."""
    who = who or Reviewer(user_id)
    outcomes = []
    for essay_id, version in items:
        try:
            async with db.write() as conn:
                decision = await parse_decision(conn, {**raw, "version": str(version or "")})
                before = await essay_store.get_essay(conn, essay_id)
                stage = before.review_stage if before else 1
                essay = await decide(conn, essay_id, decision, user_id, city=city, screener=screener, who=who)
            label = decision_label(decision.action, stage, who.levels)
            outcomes.append(BulkOutcome(essay_id, True, f"已{label}", essay.headline))
        except (ClaimedByOther, IllegalTransition, lifecycle.StaleVersion, lifecycle.EssayNotFound,
                InvalidDecision, WrongLevel, SameEyes) as exc:  # fmt: skip
            outcomes.append(BulkOutcome(essay_id, False, refusal(exc), await _headline(db, essay_id)))
    return outcomes


async def _headline(db: Any, essay_id: int) -> str:
    async with db.read() as conn:
        essay = await essay_store.get_essay(conn, essay_id)
    return essay.headline if essay else ""


# ---------------------------------------------------------------------------------------------------
# Queue health


@dataclass(frozen=True)
class QueueHealth:
    counts: dict[str, int]
    pending: int
    oldest_submitted_at: str | None
    oldest_age_hours: float | None
    overdue: int
    target_hours: int
    by_stage: dict[int, int] = field(default_factory=dict)  # pending essays per (effective) review stage
    levels: int = 1

    @property
    def oldest_age_label(self) -> str:
        return age_label(self.oldest_age_hours)


def age_label(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 1:
        return f"{max(1, round(hours * 60))} 分钟"
    if hours < 48:
        return f"{hours:.0f} 小时"
    return f"{hours / 24:.1f} 天"


def age_hours(submitted_at: str, now: datetime) -> float:
    moment = datetime.fromisoformat(submitted_at.replace("Z", "+00:00"))
    return max(0.0, (now - moment).total_seconds() / 3600)


def stage_filter(stage: int, levels: int) -> tuple[int, int | None] | None:
    """QueueFilters.stages for one level's queue; the final level's also holds the essays a lowered
    setting left above it. None on a one-level site: one queue."""
    levels = review.valid_levels(levels)
    if levels == 1:
        return None
    stage = review.effective_stage(stage, levels)
    return (stage, None) if stage == levels else (stage, stage)


async def queue_health(
    conn: aiosqlite.Connection, target_hours: int, *, now: datetime | None = None, levels: int = 1
) -> QueueHealth:
    now = now or datetime.now(UTC)
    counts = await store.counts_by_status(conn)
    by_stage: dict[int, int] = dict.fromkeys(review.stages(levels), 0)
    for stage, n in (await store.pending_by_stage(conn)).items():
        by_stage[review.effective_stage(stage, levels)] += n
    oldest, overdue = await store.queue_health(conn, overdue_before=iso(now - timedelta(hours=target_hours)))
    return QueueHealth(
        counts=counts,
        pending=counts.get(Status.PENDING, 0),
        oldest_submitted_at=oldest,
        oldest_age_hours=age_hours(oldest, now) if oldest else None,
        overdue=overdue,
        target_hours=target_hours,
        by_stage=by_stage,
        levels=review.valid_levels(levels),
    )


def report_lines(health: QueueHealth) -> list[str]:
    lines = [
        f"待审核 / pending: {health.pending}",
        f"最早一篇已等待 / oldest pending: {health.oldest_age_label}"
        + (f" (submitted {health.oldest_submitted_at})" if health.oldest_submitted_at else ""),
        f"超过 {health.target_hours} 小时未审 / overdue (> {health.target_hours} h): {health.overdue}",
    ]
    if health.levels > 1:
        lines += [f"  {review.stage_label(s, health.levels)} / stage {s}: {n}" for s, n in health.by_stage.items()]
    lines += [
        "按状态 / by status:",
    ]
    lines += [f"  {STATUS_LABELS[s]} {s}: {health.counts.get(s, 0)}" for s in Status]
    return lines
