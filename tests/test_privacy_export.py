"""What the author's copy of their data holds, field by field: the web export (/track/<token>/export.json)
and the operator's ``citizenvoice export CODE`` for an author who asked by phone or letter.

Both go to the author, so both hold the author's own texts, revisions, photo, consents, status history
and the reasons meant for the author (what the tracking page shows them), and nothing internal:
no moderator's internal note, no staff identities, no screening flags, no duplicate links, no
high-risk mark, no IP or rate-limit data, no token hashes, nothing about other essays.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pgtest
import pytest
from moderation_support import Staff, body_about, decide
from starlette.testclient import TestClient
from support import db_read, db_write

from citizenvoice import cli
from citizenvoice.domain import moderation
from citizenvoice.model.essays import new_tracking_code
from citizenvoice.store import essays as essay_store
from citizenvoice.store import wordlists

# The allowed fields, level by level. A field is added here on purpose, never by default.
DOCUMENT_KEYS = {"format", "exported_at", "essay", "photo", "revisions", "events", "signoffs",
                 "erasure_requests", "compiled"}  # fmt: skip
ESSAY_KEYS = {
    "id", "tracking_code", "status", "status_label", "direction_name", "headline", "body", "author_role",
    "author_name", "affiliation", "byline_mode", "phone", "email", "consent_print", "submitted_at",
    "published_at", "printed_edition", "personal_data_erased_at", "text_removed_at",
}  # fmt: skip
PHOTO_KEYS = {"path", "content_type", "bytes", "base64"}
REVISION_KEYS = {"number", "headline", "body", "by", "created_at"}
EVENT_KEYS = {"action", "from_status", "to_status", "by", "reason", "note_to_author", "created_at"}
SIGNOFF_KEYS = {"requested_at", "headline", "byline", "body", "answer", "answer_note", "answered_at"}
ERASURE_KEYS = {"source", "keep_text", "created_at"}
WHO = {"author", "newsroom", "system"}  # as the tracking page names them: 您, 编辑部, 系统

AUTHOR = {"name": "刘晓燕", "affiliation": "锦州港务集团调度中心主任", "phone": "13912345678",
          "email": "liuxy@example.cn", "ip": "203.0.113.9"}  # fmt: skip
OTHER = {"name": "孙建国", "affiliation": "锦州二中", "phone": "13587654321", "email": "sunjg@example.com",
         "ip": "198.51.100.7"}  # fmt: skip
PLACEHOLDER_ID = 4816  # pushes the next ids far from the small numbers an export holds (revision numbers…)
PHOTO = b"\xff\xd8\xff\xe0 fake jpeg bytes for the export test \xff\xd9"

INTERNAL_APPROVE_NOTE = "内部备注：作者是港务集团的老熟人，和另一篇很像，先发再说"
INTERNAL_EDIT_NOTE = "内部：改了标题里的错别字，疑似一稿两投"
REVISE_NOTE = "请把结尾写得具体一些：您打算怎么做？"
REASON = "内容与已发表文章重复"
NOTE_TO_AUTHOR = "感谢您的投稿，欢迎换个角度再写一篇。"


@dataclass
class Story:
    essay_id: int
    token: str
    tracking_code: str
    other_id: int
    other_code: str
    ending: str


def _insert_placeholder(client: TestClient) -> None:
    conn = pgtest.connect(client.app.state.settings)
    with conn:
        conn.execute(
            "INSERT INTO essays (id, tracking_code, token_hash, status, direction_id, headline, body, author_role,"
            " author_name, byline_mode, submitted_at, updated_at) VALUES (?, 'CV-0000-0000', 'placeholder',"
            " 'withdrawn', 1, '占位', '占位', 'other', '', 'full', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            (PLACEHOLDER_ID,),
        )
    conn.close()


def _submitted(
    client: TestClient, who: dict, headline: str, body: str, *, photo: bool
) -> tuple[int, str, str]:
    """An essay stored and screened as the submission form would; returns (id, token, tracking code)."""
    token, code = secrets.token_urlsafe(32), new_tracking_code()
    photo_path = None
    if photo:
        photo_path = f"photos/{secrets.token_hex(8)}.jpg"
        media = client.app.state.settings.media_path
        (media / photo_path).parent.mkdir(parents=True, exist_ok=True)
        (media / photo_path).write_bytes(PHOTO)
    new = essay_store.NewEssay(
        direction_id=1, headline=headline, body=body, author_role="enterprise", author_name=who["name"],
        affiliation=who["affiliation"], byline_mode="full", phone=who["phone"], email=who["email"],
        photo_path=photo_path, consent_print=True,
    )  # fmt: skip

    async def create(conn: Any) -> int:
        essay_id = await essay_store.insert_essay(
            conn, new, tracking_code=code, token=token, submit_ip=who["ip"]
        )
        screener = await moderation.load_screener(conn, client.app.state.screener)
        await moderation.screen_submission(conn, essay_id, screener)
        return essay_id

    return db_write(client, create), token, code


def _resubmit(client: TestClient, token: str, body: str) -> None:
    page = client.get(f"/track/{token}").text
    fields = dict(re.findall(r'name="(csrf_token|version)" value="([^"]*)"', page))
    response = client.post(f"/track/{token}/revise", data={**fields, "headline": "港口的清晨", "body": body})
    assert response.status_code == 303, response.text


def _reason_id(client: TestClient) -> str:
    reasons = db_read(client, wordlists.rejection_reasons)
    return str(next(r.id for r in reasons if r.label == REASON))


def story(client: TestClient, ending: str) -> Story:
    """An essay with everything staff keep about it: a near-duplicate of another author's essay (so a
    duplicate link, LSH bands and a MinHash signature exist), screening flags (a phone number in the
    text), decisions by a named moderator through the real forms, a revision round, the moderator's
    internal notes, and a decision with a reason meant for the author: a rejection (after an edit with
    an internal explanation), or taking the essay off the site (after an approval with an internal note).
    """
    _insert_placeholder(client)
    shared = body_about(7)
    other_id, _, other_code = _submitted(client, OTHER, "另一位作者的文章", shared, photo=False)
    body = shared + "欢迎拨打13912345678和我交流。"
    essay_id, token, code = _submitted(client, AUTHOR, "港口的清晨", body, photo=True)

    staff = Staff(client)
    staff.add("moderator-wu", "moderator")
    moderator = staff.act_as("moderator-wu")
    assert decide(moderator, essay_id, "revise", note=REVISE_NOTE).status_code == 303
    _resubmit(staff.anonymous(), token, body + "我打算每个周末去码头讲讲港口的故事。")
    moderator = staff.act_as("moderator-wu")
    if ending == "reject":
        edited = decide(moderator, essay_id, "edit", headline="港口的清晨（修订）", body=_body(client, essay_id),
                        note=INTERNAL_EDIT_NOTE)  # fmt: skip
        assert edited.status_code == 303
        response = decide(moderator, essay_id, "reject", reason=_reason_id(client), note=NOTE_TO_AUTHOR)
    else:
        approved = decide(moderator, essay_id, "approve", featured="1", note=INTERNAL_APPROVE_NOTE)
        assert approved.status_code == 303
        response = decide(moderator, essay_id, "unpublish", reason=REASON, note=NOTE_TO_AUTHOR)
    assert response.status_code == 303, response.text
    staff.anonymous()
    return Story(essay_id, token, code, other_id, other_code, ending)


def _body(client: TestClient, essay_id: int) -> str:
    essay = db_read(client, essay_store.get_essay, essay_id)
    assert essay is not None
    return essay.body


def _assert_staff_keep_it_all(client: TestClient, s: Story) -> None:
    """The test means something only if the database does hold the internal data."""
    conn = pgtest.connect(client.app.state.settings)
    try:
        one = lambda sql: conn.execute(sql, (s.essay_id,)).fetchone()  # noqa: E731
        assert one("SELECT other_id FROM essay_duplicates WHERE essay_id = ?") == (s.other_id,)
        assert one("SELECT count(*) FROM essay_flags WHERE essay_id = ? AND kind = 'phone'")[0] >= 1
        assert one("SELECT count(*) FROM essay_shingle_bands WHERE essay_id = ?")[0] > 0
        assert one("SELECT count(*) FROM essay_minhash WHERE essay_id = ?")[0] == 1
        assert one("SELECT count(*) FROM essay_events WHERE essay_id = ? AND actor_id IS NOT NULL")[0] >= 2
        internal = INTERNAL_EDIT_NOTE if s.ending == "reject" else INTERNAL_APPROVE_NOTE
        assert one("SELECT count(*) FROM essay_events WHERE essay_id = ? AND note LIKE '%内部%'")[0] == 1
        assert internal in "".join(r[0] for r in conn.execute("SELECT note FROM essay_events"))
        assert one("SELECT submit_ip FROM essays WHERE id = ?") == (AUTHOR["ip"],)
    finally:
        conn.close()


def _walk(value: Any):  # every key and value, at every level
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def check_export(s: Story, doc: dict[str, Any], raw: str) -> None:
    # Every level holds exactly the allowed fields.
    assert set(doc) == DOCUMENT_KEYS
    assert set(doc["essay"]) == ESSAY_KEYS
    assert set(doc["photo"]) == PHOTO_KEYS
    assert doc["revisions"] and all(set(r) == REVISION_KEYS for r in doc["revisions"])
    assert doc["events"] and all(set(e) == EVENT_KEYS for e in doc["events"])
    assert doc["signoffs"] == [] and doc["erasure_requests"] == [] and doc["compiled"] is None

    # The author's own data, in full.
    essay = doc["essay"]
    assert (essay["id"], essay["tracking_code"]) == (s.essay_id, s.tracking_code)
    assert (essay["author_name"], essay["affiliation"], essay["phone"], essay["email"]) == (
        AUTHOR["name"], AUTHOR["affiliation"], AUTHOR["phone"], AUTHOR["email"],
    )  # fmt: skip
    assert essay["consent_print"] == 1 and essay["byline_mode"] == "full" and essay["direction_name"]
    assert base64.b64decode(doc["photo"]["base64"]) == PHOTO
    assert [r["number"] for r in doc["revisions"]] == ([1, 2, 3] if s.ending == "reject" else [1, 2])
    assert {r["by"] for r in doc["revisions"]} <= WHO and {e["by"] for e in doc["events"]} <= WHO

    # The status history as the tracking page lists it, with the reasons meant for the author.
    events = [(e["action"], e["by"]) for e in doc["events"]]
    if s.ending == "reject":
        assert events == [("submit", "author"), ("revise", "newsroom"), ("resubmit", "author"),
                          ("edit", "newsroom"), ("reject", "newsroom")]  # fmt: skip
        assert essay["status"] == "rejected"
    else:
        assert events == [("submit", "author"), ("revise", "newsroom"), ("resubmit", "author"),
                          ("approve", "newsroom"), ("unpublish", "newsroom")]  # fmt: skip
        assert essay["status"] == "unpublished"
    said = {e["action"]: (e["reason"], e["note_to_author"]) for e in doc["events"]}
    assert said["revise"] == ("", REVISE_NOTE)
    assert said[s.ending] == (REASON, NOTE_TO_AUTHOR)
    assert all(said[a] == ("", "") for a in said if a not in ("revise", s.ending))

    # Nothing internal, nothing about the other essay.
    for secret in (INTERNAL_APPROVE_NOTE, INTERNAL_EDIT_NOTE, "内部", "设为精选", "moderator-wu", AUTHOR["ip"],
                   s.token, essay_store.token_hash(s.token), s.other_code, "另一位作者"):  # fmt: skip
        assert secret not in raw
    for value in OTHER.values():
        assert value not in raw
    assert re.search(rf"(?<![0-9A-Za-z+/]){s.other_id}(?![0-9A-Za-z+/])", raw) is None
    assert s.other_id not in [v for v in _walk(doc) if isinstance(v, int) and not isinstance(v, bool)]


@pytest.mark.parametrize("ending", ["reject", "unpublish"])
def test_the_web_export_holds_exactly_the_allowed_fields(client: TestClient, ending: str) -> None:
    s = story(client, ending)
    _assert_staff_keep_it_all(client, s)
    response = client.get(f"/track/{s.token}/export.json")
    assert response.status_code == 200
    check_export(s, response.json(), response.text)
    # The reasons exported are the ones the tracking page shows the author, and the internal note is not.
    page = client.get(f"/track/{s.token}").text
    assert REASON in page and NOTE_TO_AUTHOR in page and "内部" not in page


@pytest.mark.parametrize("ending", ["reject", "unpublish"])
def test_the_command_line_export_holds_exactly_the_same_fields(
    client: TestClient, ending: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = story(client, ending)
    _assert_staff_keep_it_all(client, s)
    settings = client.app.state.settings
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CITIZENVOICE_SECRET_KEY", settings.secret_key)
    capsys.readouterr()
    assert cli.main(["export", s.tracking_code.lower()]) == 0
    raw = capsys.readouterr().out
    check_export(s, json.loads(raw), raw)


def test_the_export_names_staff_only_as_the_newsroom(client: TestClient) -> None:
    s = story(client, "reject")
    doc = client.get(f"/track/{s.token}/export.json").json()
    # The tracking page says 编辑部 for every member of staff; the export says no more than that.
    assert [r["by"] for r in doc["revisions"]] == ["author", "author", "newsroom"]
    assert "moderator" not in json.dumps(doc, ensure_ascii=False)


def _on_a_print_page_with_a_signoff(client: TestClient, essay_id: int) -> None:
    """What the print desk keeps: a slot, a print version, an editor's verification note (which names
    the author and their phone), a phone view, and the sign-off request with the author's objection."""
    conn = pgtest.connect(client.app.state.settings)
    with conn:
        editor = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES ('editor-zhao', 'x')"
        ).lastrowid
        conn.execute(
            "INSERT INTO print_pages (id, paper, pub_date, page_label, column_title, slots, created_by, created_at,"
            " updated_at) VALUES (1, '锦州日报', '2026-11-24', '要闻T版', '写给下一个五年', 4, ?, 'now', 'now')",
            (editor,),
        )
        conn.execute("INSERT INTO print_slots (page_id, essay_id, position) VALUES (1, ?, 1)", (essay_id,))
        conn.execute(
            "INSERT INTO print_versions (id, page_id, essay_id, number, headline, byline, body, char_count,"
            " created_by, created_at) VALUES (1, 1, ?, 1, '港口的清晨（见报稿）', ?, '删改后的正文。', 7, ?, 'v-at')",
            (essay_id, f"{AUTHOR['affiliation']} {AUTHOR['name']}", editor),
        )
        conn.execute(
            "INSERT INTO author_verifications (essay_id, user_id, note, created_at) VALUES (?, ?, ?, 'now')",
            (essay_id, editor, f"已致电 {AUTHOR['phone']}，本人确认；编辑部内部核实"),
        )
        conn.execute(
            "INSERT INTO phone_views (essay_id, user_id, viewed_at) VALUES (?, ?, 'now')", (essay_id, editor)
        )
        conn.execute(
            "INSERT INTO signoff_requests (page_id, essay_id, print_version_id, requested_by, requested_at, answer,"
            " answer_note, answered_at) VALUES (1, ?, 1, ?, 'asked-at', 'objected', '请保留第二段', 'answered-at')",
            (essay_id, editor),
        )
    conn.close()


def test_the_export_holds_the_signoff_the_author_saw_but_no_print_desk_internals(client: TestClient) -> None:
    essay_id, token, _ = _submitted(client, AUTHOR, "港口的清晨", body_about(3), photo=False)
    _on_a_print_page_with_a_signoff(client, essay_id)
    response = client.get(f"/track/{token}/export.json")
    doc = response.json()
    assert set(doc) == DOCUMENT_KEYS and doc["photo"] is None
    assert doc["signoffs"] == [
        {
            "requested_at": "asked-at",
            "headline": "港口的清晨（见报稿）",
            "byline": f"{AUTHOR['affiliation']} {AUTHOR['name']}",
            "body": "删改后的正文。",
            "answer": "objected",
            "answer_note": "请保留第二段",
            "answered_at": "answered-at",
        }
    ]
    assert set(doc["signoffs"][0]) == SIGNOFF_KEYS
    # The verification note, the page placement and the editor stay in the newsroom.
    for internal in ("已致电", "内部", "要闻T版", "写给下一个五年", "editor-zhao"):  # not "T08": a timestamp holds that at 08:00 UTC
        assert internal not in response.text


# ---------------------------------------------------------------------------------------------------
# A column or table added later is not exported by default, nor forgotten silently: it must be placed.

# Columns of essays the export does not carry as such: in another shape, or never.
ESSAY_COLUMNS_ELSEWHERE = {
    "photo_path": "the photo itself, under photo",
    "reject_reason": "per decision, in events[].reason",
    "author_note": "per decision, in events[].note_to_author",
}
# review_stage: which review level's queue (初审/复审/终审) is the newsroom's own; the author's essay is
# 待审核 until the last level decides.
# sms_channel / notify: whether the phone may be sent messages and whether the author stopped them (shown
# on the tracking page itself).
ESSAY_COLUMNS_WITHHELD = {"token_hash", "version", "direction_id", "featured", "high_risk", "submit_ip",
                          "updated_at", "review_stage", "sms_channel", "notify"}  # fmt: skip
# Tables with an essay_id column, and where their rows go in the export.
TABLES_EXPORTED = {"essay_revisions", "essay_events", "signoff_requests", "print_versions",
                   "erasure_requests", "compiled_essays"}  # fmt: skip
TABLES_INTERNAL = {
    "form_tokens", "essay_flags", "essay_shingle_bands", "essay_duplicates", "essay_minhash",
    "essay_claims", "claim_events", "print_slots", "author_verifications", "page_events", "phone_views",
    "search_docs",
    "messages",  # the outbox: deleted with the essay's personal data (tests/test_messages.py)
}  # fmt: skip


def test_every_essay_column_is_exported_or_withheld_on_purpose(client: TestClient) -> None:
    columns = pgtest.columns(client.app.state.settings, "essays")
    exported = ESSAY_KEYS - {"status_label", "direction_name"}
    assert not (exported & ESSAY_COLUMNS_WITHHELD)
    assert columns == exported | set(ESSAY_COLUMNS_ELSEWHERE) | ESSAY_COLUMNS_WITHHELD


def test_every_table_about_an_essay_is_exported_or_internal_on_purpose(client: TestClient) -> None:
    tables = pgtest.tables_with_column(client.app.state.settings, "essay_id")
    assert tables == TABLES_EXPORTED | TABLES_INTERNAL
