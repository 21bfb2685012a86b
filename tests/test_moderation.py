"""The moderation domain and store: screening a stored submission, duplicate links, claims and their
expiry, the queue's order, filters and keyset pages (also at 10,000 pending), queue health and the
``citizenvoice queue-report`` command."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from factories import make_essay
from moderation_support import Staff, body_about, essay, events, run_db

from citizenvoice import cli
from citizenvoice.domain import lifecycle, moderation, screening
from citizenvoice.store import directions as direction_store
from citizenvoice.store import moderation as store
from citizenvoice.store import utcnow, wordlists
from citizenvoice.store.moderation import Cursor, QueueFilters

BANNED_MID_SENTENCE = "我们小区门口以前有人搞赌博，现在终于清净了。"
OBFUSCATED = "楼下贴着小广告：六 合·彩，还有 Ｄ-a-i-K-a-i 发票。加 我 微 信就送。"


def flags_of(client, essay_id: int) -> list[store.StoredFlag]:
    return run_db(client, lambda conn: store.list_flags(conn, essay_id))


# ---------------------------------------------------------------------------------------------------
# Screening


def test_screening_stores_explained_flags_and_marks_banned_words_high_risk(client) -> None:
    essay_id = make_essay(client, body=BANNED_MID_SENTENCE + body_about(1)).id
    flags = flags_of(client, essay_id)
    banned = [f for f in flags if f.kind == "banned"]
    assert [(f.term, f.matched, f.field) for f in banned] == [("赌博", "赌博", "body")]
    assert "禁用词表" in banned[0].explanation
    assert essay(client, essay_id).high_risk is True


def test_obfuscated_and_suspect_words_are_flagged_with_the_original_spelling(client) -> None:
    essay_id = make_essay(client, headline="楼下的小广告", body=OBFUSCATED + body_about(2)).id
    flags = {(f.kind, f.term): f for f in flags_of(client, essay_id)}
    assert flags[("banned", "六合彩")].matched == "六 合·彩"
    assert "已忽略间隔的空格、标点" in flags[("banned", "六合彩")].explanation
    assert flags[("suspect", "加我微信")].matched == "加 我 微 信"
    assert essay(client, essay_id).high_risk is True


def test_a_clean_essay_has_no_flags_and_is_not_high_risk(client) -> None:
    essay_id = make_essay(client, body=body_about(3)).id
    assert flags_of(client, essay_id) == []
    assert essay(client, essay_id).high_risk is False


def test_personal_data_is_flagged_but_stored_masked(client) -> None:
    body = "有事请打我手机 139-1234-5678，或者发邮件到 wang.lei@example.cn。" + body_about(4)
    flags = {f.kind: f for f in flags_of(client, make_essay(client, body=body).id)}
    assert flags["phone"].matched == "139****5678"
    assert flags["email"].matched == "w***@example.cn"
    assert "手机号码" in flags["phone"].explanation


def test_rescreening_replaces_the_old_flags(client) -> None:
    essay_id = make_essay(client, body=BANNED_MID_SENTENCE + body_about(5)).id
    clean = body_about(5)

    async def edit(conn):
        await lifecycle.edit_text(conn, essay_id, moderation.moderator(1), city="锦州", version=None,
                                  headline="新标题新标题", body=clean)  # fmt: skip
        screener = await moderation.load_screener(conn, client.app.state.screener)
        return await moderation.screen_submission(conn, essay_id, screener)

    result = run_db(client, edit, write=True)
    assert result.flags == () and flags_of(client, essay_id) == []
    assert essay(client, essay_id).high_risk is False


def test_the_screener_is_rebuilt_only_when_the_word_lists_change(client) -> None:
    cache = client.app.state.screener

    async def load(conn):
        return await moderation.load_screener(conn, cache)

    first = run_db(client, load)
    assert run_db(client, load) is first
    run_db(client, lambda conn: wordlists.replace_words(conn, "banned", ["新违禁词"]), write=True)
    rebuilt = run_db(client, load)
    assert rebuilt is not first
    assert [f.term for f in rebuilt.screen("这里有新违禁词").flags] == ["新违禁词"]


# ---------------------------------------------------------------------------------------------------
# Near-duplicates


def _reworded(text: str) -> str:
    # A handful of characters changed: still far above 80 % shingle overlap.
    return text.replace("春", "椿", 1).replace("秋", "楸", 1) + "谢谢。"


def test_near_duplicates_are_linked_with_their_similarity(client) -> None:
    original = make_essay(client, body=body_about(6)).id
    unrelated = make_essay(client, body=body_about(7)).id
    copy = make_essay(client, body=_reworded(body_about(6))).id
    links = run_db(client, lambda conn: store.duplicates_of(conn, copy))
    assert [link.other_id for link in links] == [original]
    assert links[0].similarity >= 0.8
    assert [link.other_id for link in run_db(client, lambda conn: store.duplicates_of(conn, original))] == [copy]
    assert run_db(client, lambda conn: store.duplicates_of(conn, unrelated)) == []


def test_only_essays_of_the_last_90_days_count(client) -> None:
    make_essay(client, body=body_about(8), submitted_hours_ago=91 * 24)
    recent = make_essay(client, body=body_about(8), submitted_hours_ago=89 * 24).id
    copy = make_essay(client, body=body_about(8)).id
    assert [link.other_id for link in run_db(client, lambda conn: store.duplicates_of(conn, copy))] == [recent]


def _rewrite(client, essay_id: int, body: str) -> None:
    """A moderator's edit to a new text, screened again in the same transaction as the app does."""

    async def rewrite(conn):
        await lifecycle.edit_text(conn, essay_id, moderation.moderator(1), city="锦州", version=None,
                                  headline="完全不同的文章", body=body)  # fmt: skip
        screener = await moderation.load_screener(conn, client.app.state.screener)
        await moderation.screen_submission(conn, essay_id, screener)

    run_db(client, rewrite, write=True)


def test_a_resubmitted_text_that_no_longer_matches_loses_its_link(client) -> None:
    first = make_essay(client, body=body_about(9)).id
    second = make_essay(client, body=body_about(9)).id
    assert run_db(client, lambda conn: store.duplicates_of(conn, first))

    _rewrite(client, second, body_about(10))
    assert run_db(client, lambda conn: store.duplicates_of(conn, first)) == []


def _stored_signature(client, essay_id: int) -> bytes | None:
    async def read(conn):
        rows = await conn.execute_fetchall("SELECT signature FROM essay_minhash WHERE essay_id = ?", (essay_id,))
        return rows[0][0] if rows else None

    return run_db(client, read)


def _set_signature(client, essay_id: int, signature: bytes | None) -> None:
    async def write(conn):
        await conn.execute("DELETE FROM essay_minhash WHERE essay_id = ?", (essay_id,))
        if signature is not None:
            await conn.execute("INSERT INTO essay_minhash (essay_id, signature) VALUES (?, ?)", (essay_id, signature))

    run_db(client, write, write=True)


def test_the_signature_of_the_current_text_is_stored_with_the_band_keys(client) -> None:
    essay_id = make_essay(client, body=body_about(11)).id
    assert _stored_signature(client, essay_id) == screening.signature_to_bytes(
        screening.minhash_signature(body_about(11))
    )

    _rewrite(client, essay_id, body_about(12))
    assert _stored_signature(client, essay_id) == screening.signature_to_bytes(
        screening.minhash_signature(body_about(12))
    )


def test_a_candidate_screened_before_signatures_were_stored_is_confirmed_from_its_text(client) -> None:
    original = make_essay(client, body=body_about(13)).id
    _set_signature(client, original, None)  # as an essay screened before migration 0010
    copy = make_essay(client, body=_reworded(body_about(13))).id
    assert [link.other_id for link in run_db(client, lambda conn: store.duplicates_of(conn, copy))] == [original]


def test_a_candidate_whose_signature_rules_out_80_percent_is_not_compared(client) -> None:
    original = make_essay(client, body=body_about(14)).id
    # A signature agreeing with the text's on no value: the check must trust it and skip the text.
    _set_signature(client, original, screening.signature_to_bytes([1] * screening.NUM_PERM))
    copy = make_essay(client, body=_reworded(body_about(14))).id
    assert run_db(client, lambda conn: store.duplicates_of(conn, copy)) == []


# ---------------------------------------------------------------------------------------------------
# Claims


@pytest.fixture
def clock(monkeypatch):
    """Moderation's clock, moved by the test instead of sleeping."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(moderation, "clock", lambda: now[0])
    return now


def _claim(client, essay_id: int, user_id: int, **kw):
    return run_db(client, lambda conn: moderation.claim(conn, essay_id, user_id, **kw), write=True)


def test_a_claim_blocks_others_until_it_expires(client, clock) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id
    _claim(client, essay_id, a)
    with pytest.raises(moderation.ClaimedByOther) as held:
        _claim(client, essay_id, b)
    assert held.value.claim.holder == "anna" and "anna" in held.value.message
    assert held.value.minutes_left == 10

    clock[0] += moderation.CLAIM_SECONDS - 1
    with pytest.raises(moderation.ClaimedByOther):
        _claim(client, essay_id, b)
    clock[0] += 2  # the claim has run out: as good as none
    assert _claim(client, essay_id, b).user_id == b
    assert run_db(client, lambda conn: store.list_claim_events(conn, essay_id)) == []  # expiry is no takeover


def test_a_takeover_is_explicit_and_recorded(client, clock) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id
    _claim(client, essay_id, a)
    assert _claim(client, essay_id, b, takeover=True).user_id == b
    recorded = run_db(client, lambda conn: store.list_claim_events(conn, essay_id))
    assert [(e.action, e.user, e.previous) for e in recorded] == [("takeover", "bo", "anna")]


def test_reopening_extends_ones_own_claim_and_release_frees_it(client, clock) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id
    first = _claim(client, essay_id, a)
    clock[0] += 300
    again = _claim(client, essay_id, a)
    assert again.claimed_at == first.claimed_at and again.expires_at == clock[0] + moderation.CLAIM_SECONDS
    assert run_db(client, lambda conn: moderation.release(conn, essay_id, b), write=True) is False
    assert run_db(client, lambda conn: moderation.release(conn, essay_id, a), write=True) is True
    assert _claim(client, essay_id, b).user_id == b


# ---------------------------------------------------------------------------------------------------
# Concurrent decisions


def test_two_moderators_deciding_at_once_exactly_one_succeeds(client) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id
    version = essay(client, essay_id).version
    screener = run_db(client, lambda conn: moderation.load_screener(conn, client.app.state.screener))

    async def decide(user_id: int, action: str, reason: str = ""):
        async with client.app.state.db.write() as conn:
            chosen = await moderation.parse_decision(conn, {"action": action, "version": str(version),
                                                            "reason": reason})  # fmt: skip
            return await moderation.decide(conn, essay_id, chosen, user_id, city="锦州", screener=screener)

    async def both():
        return await asyncio.gather(decide(a, "approve"), decide(b, "reject", "与本栏目主题无关"),
                                    return_exceptions=True)  # fmt: skip

    results = client.portal.call(both)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], lifecycle.StaleVersion)
    decisions = [e for e in events(client, essay_id) if e.action in ("approve", "reject")]
    assert len(decisions) == 1
    assert essay(client, essay_id).status == decisions[0].to_status


def test_two_moderators_claiming_at_once_one_holds_it_and_the_other_is_told(client) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    essay_id = make_essay(client).id

    async def take(user_id: int):
        async with client.app.state.db.write() as conn:
            claimed = await moderation.claim(conn, essay_id, user_id)
            await asyncio.sleep(0.05)  # still open: the other moderator's claim arrives meanwhile
            return claimed

    async def both():
        return await asyncio.gather(take(a), take(b), return_exceptions=True)

    results = client.portal.call(both)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], moderation.ClaimedByOther), results
    held = run_db(client, lambda conn: moderation.current_claim(conn, essay_id))
    assert held is not None and [r for r in results if not isinstance(r, Exception)][0].user_id == held.user_id


# ---------------------------------------------------------------------------------------------------
# The queue


def _page(client, filters: QueueFilters | None = None, after: Cursor | None = None, limit: int = 30):
    return run_db(client, lambda conn: store.queue_page(conn, filters or QueueFilters(), after=after, limit=limit))


def test_queue_puts_high_risk_first_then_oldest_first(client) -> None:
    old = make_essay(client, body=body_about(11), submitted_hours_ago=30).id
    risky_new = make_essay(client, body=BANNED_MID_SENTENCE + body_about(12), submitted_hours_ago=1).id
    middle = make_essay(client, body=body_about(13), submitted_hours_ago=5).id
    risky_old = make_essay(client, body=BANNED_MID_SENTENCE + body_about(14), submitted_hours_ago=10).id
    make_essay(client, "published", body=body_about(15))
    assert [i.id for i in _page(client)] == [risky_old, risky_new, old, middle]


def test_keyset_pages_cover_the_queue_once_in_order(client) -> None:
    ids = [make_essay(client, body=body_about(20 + n), submitted_hours_ago=50 - n).id for n in range(11)]
    risky = [make_essay(client, body=BANNED_MID_SENTENCE + body_about(40 + n)).id for n in range(3)]
    seen, after = [], None
    while True:
        page = _page(client, after=after, limit=4)
        if not page:
            break
        seen += [i.id for i in page]
        after = page[-1].cursor
        assert Cursor.decode(after.encode()) == after
    assert seen == risky + ids


def test_filters_narrow_the_queue(client) -> None:
    plain = make_essay(client, body=body_about(50), direction="ecology", author_role="student").id
    photo = make_essay(client, body=body_about(51), photo_path="photos/ab/abc.jpg").id
    phone = make_essay(client, body="电话 13912345678。" + body_about(52), author_role="enterprise").id
    dup_a = make_essay(client, body=body_about(53)).id
    dup_b = make_essay(client, body=body_about(53)).id
    searchable = make_essay(client, headline="关于夜市的一点期待", body=body_about(54)).id

    def ids(**kw) -> set[int]:
        return {i.id for i in _page(client, QueueFilters(**kw))}

    ecology = run_db(client, lambda conn: direction_store.get_by_slug(conn, "ecology"))
    assert ids(direction_id=ecology.id) == {plain}
    assert ids(author_role="student") == {plain}
    assert ids(has_photo=True) == {photo}
    assert ids(flag="phone") == {phone}
    assert ids(flag="duplicate") == {dup_a, dup_b}
    assert ids(search="夜市的一点") == {searchable}
    assert ids(search="100%_") == set()  # LIKE wildcards are taken literally
    assert run_db(client, lambda conn: store.count_queue(conn, QueueFilters(author_role="enterprise"))) == 1


def test_next_available_item_skips_what_colleagues_hold(client, clock) -> None:
    staff = Staff(client)
    a, b = staff.add("anna"), staff.add("bo")
    first = make_essay(client, body=body_about(60), submitted_hours_ago=3).id
    second = make_essay(client, body=body_about(61), submitted_hours_ago=2).id
    _claim(client, first, a)
    assert [i.id for i in _page(client, QueueFilters(available_to=(b, clock[0])), limit=1)] == [second]
    assert [i.id for i in _page(client, QueueFilters(available_to=(a, clock[0])), limit=1)] == [first]


def _plan(client, sql: str, params: list) -> str:
    async def explain(conn):
        async with conn.execute("EXPLAIN QUERY PLAN " + sql, params) as cur:
            return "\n".join(str(row[3]) for row in await cur.fetchall())

    return run_db(client, explain)


def _seed_pending(client, count: int) -> None:
    """Many pending essays at once (raw rows: the store's insert would take minutes for 10,000)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)

    async def seed(conn):
        rows = [
            (f"CV-TEST-{n}", f"hash-{n}", "pending", 1 + n % 12, f"标题{n}", "正文" * 150,
             "resident", "作者", "full", f"139{n:08d}", int(n % 97 == 0),
             moderation.iso(start + timedelta(minutes=n)), utcnow())
            for n in range(count)
        ]  # fmt: skip
        await conn.executemany(
            "INSERT INTO essays (tracking_code, token_hash, status, direction_id, headline, body, author_role,"
            " author_name, byline_mode, phone, high_risk, submitted_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    run_db(client, seed, write=True)


@pytest.mark.sqlite_only("EXPLAIN QUERY PLAN")
def test_queue_pages_at_10000_pending_are_index_seeks(client) -> None:
    _seed_pending(client, 10_000)
    run_db(client, lambda conn: conn.execute("ANALYZE"), write=True)
    deep = _page(client, after=Cursor(0, moderation.iso(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=9000)),
                                      10**9), limit=5)  # fmt: skip
    assert [i.headline for i in deep] == [f"标题{n}" for n in range(9001, 9006) if n % 97]
    health = run_db(client, lambda conn: moderation.queue_health(conn, 24))
    assert health.pending == 10_000 and health.overdue == 10_000

    cursor = Cursor(0, "2026-01-05T00:00:00.000000Z", 5000)
    expected = {
        QueueFilters(): "essays_status_submitted (status=? AND high_risk=? AND submitted_at>?)",
        QueueFilters(direction_id=3): "essays_queue_direction (status=? AND direction_id=? AND high_risk=? AND submitted_at>?)",
    }
    for filters, seek in expected.items():
        plan = _plan(client, *store.queue_sql(filters, 0, cursor, 31))
        assert f"SEARCH e USING INDEX {seek}" in plan, plan  # a seek to the cursor, not a walk to it
        assert "TEMP B-TREE" not in plan and "SCAN e" not in plan, plan  # already in queue order


def test_queue_health_counts_overdue_essays(client) -> None:
    make_essay(client, body=body_about(70), submitted_hours_ago=30)
    make_essay(client, body=body_about(71), submitted_hours_ago=25)
    make_essay(client, body=body_about(72), submitted_hours_ago=2)
    make_essay(client, "published", body=body_about(73), submitted_hours_ago=40)
    health = run_db(client, lambda conn: moderation.queue_health(conn, 24))
    assert (health.pending, health.overdue, health.counts["published"]) == (3, 2, 1)
    assert 29.9 < (health.oldest_age_hours or 0) < 30.1 and health.oldest_age_label == "30 小时"


def test_queue_report_prints_the_same_health(client, settings, monkeypatch, capsys) -> None:
    make_essay(client, body=body_about(80), submitted_hours_ago=50)
    make_essay(client, body=body_about(81), submitted_hours_ago=1)
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CITIZENVOICE_QUEUE_TARGET_HOURS", "24")
    assert cli.main(["queue-report"]) == 0
    out = capsys.readouterr().out
    assert "待审核 / pending: 2" in out
    assert "最早一篇已等待 / oldest pending: 2.1 天" in out
    assert "超过 24 小时未审 / overdue (> 24 h): 1" in out
