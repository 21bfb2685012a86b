"""JSON API v1 (citizenvoice/views/api): what a mini-program sees and can do.

Every answer goes through api_support.ApiClient, which validates it against /api/v1/openapi.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_support import ApiClient, submission
from factories import EMAIL, PHONE, make_essay
from starlette.applications import Starlette
from starlette.testclient import TestClient
from support import SAMPLE_BODY, db_read, db_write

from citizenvoice.domain import lifecycle
from citizenvoice.model.essays import Action, Actor
from citizenvoice.store import essays as essay_store


@pytest.fixture
def api(client: TestClient) -> Iterator[ApiClient]:
    api = ApiClient(client)
    yield api
    assert api.checked > 0  # the test did ask the API something, and every answer was checked


def private_values(client: TestClient, *tokens: str) -> list[str]:
    return [PHONE, EMAIL, PHONE[-4:] + "@", *tokens]


def assert_nothing_private(text: str, values: list[str]) -> None:
    for value in values:
        assert value not in text, value


# ---------------------------------------------------------------------------------------------------
# Public reads


def test_directions_grouped_by_pillar_with_published_counts(api: ApiClient, client: TestClient) -> None:
    make_essay(client, "published", direction="ecology")
    make_essay(client, "printed", direction="ecology")
    make_essay(client, "pending", direction="ecology")
    make_essay(client, "rejected", direction="ecology")
    answer = api.get("/api/v1/directions").json()
    ecology = next(d for d in answer["directions"] if d["slug"] == "ecology")
    assert ecology["published"] == 2 and ecology["open_for_submission"] is True
    assert [p["name"] for p in answer["pillars"]] == ["产业为基", "创新为魂", "开放为翼", "民生为本"]
    grouped = [slug for pillar in answer["pillars"] for slug in pillar["directions"]]
    assert grouped == [d["slug"] for d in answer["directions"]]


def test_a_board_pages_by_cursor_and_shows_only_public_essays(api: ApiClient, client: TestClient) -> None:
    published = [make_essay(client, "published", headline=f"第{n:02d}篇港口的早班车", published_at=f"2026-11-{n:02d}T08:00:00.000000Z")
                 for n in range(1, 26)]
    hidden = [make_essay(client, status, headline=f"不该出现的{status}") for status in
              ("pending", "rejected", "needs_revision", "unpublished", "withdrawn")]
    first = api.get("/api/v1/boards/wellbeing/essays").json()
    assert len(first["essays"]) == 20 and first["next_cursor"]
    second = api.get("/api/v1/boards/wellbeing/essays", params={"cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None
    ids = [e["id"] for e in first["essays"] + second["essays"]]
    assert ids == [e.id for e in reversed(published)]  # newest first, none twice, none missing
    assert not {h.id for h in hidden} & set(ids)
    assert first["direction"]["published"] == 25
    card = first["essays"][0]
    assert card["byline"] == "锦州市民 李春梅" and card["url"].endswith(f"/essays/{card['id']}")
    assert len(card["excerpt"]) <= 91


def test_a_board_filters_by_role_and_refuses_bad_parameters(api: ApiClient, client: TestClient) -> None:
    make_essay(client, "published", author_role="resident")
    expert = make_essay(client, "published", author_role="research", affiliation="渤海大学")
    answer = api.get("/api/v1/boards/wellbeing/essays", params={"role": "research"}).json()
    assert [e["id"] for e in answer["essays"]] == [expert.id] and answer["role"] == "research"
    bad_role = api.get("/api/v1/boards/wellbeing/essays", params={"role": "hacker"})
    assert bad_role.status_code == 422 and "role" in bad_role.json()["error"]["fields"]
    bad_cursor = api.get("/api/v1/boards/wellbeing/essays", params={"cursor": "x' OR 1=1"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["error"]["message"] == "游标无效，请从第一页重新开始。"
    missing = api.get("/api/v1/boards/no-such-board/essays")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_one_essay_with_paragraphs_byline_and_printed_edition(api: ApiClient, client: TestClient) -> None:
    body = "第一段写港口。" * 30 + "\n\n" + "第二段写社区。" * 10 + "\n第二段的第二行。"
    essay = make_essay(client, "printed", body=body, affiliation="锦州港社区党委书记", author_role="community")
    answer = api.get(f"/api/v1/essays/{essay.id}")
    data = answer.json()
    assert data["paragraphs"] == ["第一段写港口。" * 30, "第二段写社区。" * 10 + "\n第二段的第二行。"]
    assert data["byline"] == "锦州港社区党委书记 李春梅"
    assert data["printed"] == {"label": "刊于《锦州日报》2026年11月24日 T08版", "edition": "《锦州日报》2026-11-24 T08版"}
    assert data["direction"] == {"slug": "wellbeing", "name": "民生福祉"} and data["photo_url"] is None
    assert_nothing_private(answer.text, private_values(client, essay.token))


@pytest.mark.parametrize(("status", "code"), [("pending", 404), ("rejected", 404), ("needs_revision", 404),
                                              ("withdrawn", 404), ("unpublished", 410)])
def test_an_essay_the_public_may_not_read_is_not_given(api: ApiClient, client: TestClient, status: str,
                                                        code: int) -> None:
    essay = make_essay(client, status, headline="不该公开的标题")
    answer = api.get(f"/api/v1/essays/{essay.id}")
    assert answer.status_code == code and "不该公开的标题" not in answer.text
    assert answer.json()["error"]["code"] == ("gone" if code == 410 else "not_found")


def test_search_finds_published_essays_with_offsets_for_1_2_and_n_characters(api: ApiClient, client: TestClient) -> None:
    hit = make_essay(client, "published", headline="海风吹过滨海新区", body="我家住在滨海路。" * 40)
    make_essay(client, "pending", headline="待审的海风故事", body="海风在滨海路上吹。" * 40)
    for q in ("海", "滨海", "滨海新区"):
        answer = api.get("/api/v1/search", params={"q": q}).json()
        assert [r["id"] for r in answer["results"]] == [hit.id], q
        result = answer["results"][0]
        for part in ("headline", "snippet"):
            text, spans = result[part]["text"], result[part]["highlights"]
            assert [text[s:e] for s, e in spans] == [q] * text.count(q), (q, part, spans)
        assert result["headline"]["highlights"]
    assert api.get("/api/v1/search", params={"q": "待审"}).json()["total"] == 0
    assert answer["total"] == 1 and answer["total_exact"] is True
    empty = api.get("/api/v1/search", params={"q": "   "})
    assert empty.status_code == 422 and empty.json()["error"]["fields"]["q"] == "请输入要搜索的字词。"


def test_search_pages_by_cursor(api: ApiClient, client: TestClient) -> None:
    for n in range(23):
        make_essay(client, "published", headline=f"码头第{n}号灯塔", screen=False)
    first = api.get("/api/v1/search", params={"q": "灯塔"}).json()
    assert first["total"] == 23 and len(first["results"]) == 20 and first["next_cursor"] == "20"
    second = api.get("/api/v1/search", params={"q": "灯塔", "cursor": first["next_cursor"]}).json()
    assert len(second["results"]) == 3 and second["next_cursor"] is None
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert api.get("/api/v1/search", params={"q": "灯塔", "cursor": "7"}).status_code == 422


def test_changes_follow_publication_edits_and_take_downs(api: ApiClient, client: TestClient) -> None:
    start = api.get("/api/v1/changes").json()
    assert start == {"changes": [], "cursor": "0000-00-00T00:00:00Z~0", "more": False}
    essay = make_essay(client, "published", headline="先发表的文章")
    make_essay(client, "pending")
    published = api.get("/api/v1/changes", params={"cursor": start["cursor"]}).json()
    assert [(c["id"], c["change"]) for c in published["changes"]] == [(essay.id, "published")]
    assert published["changes"][0]["essay"]["headline"] == "先发表的文章"
    assert api.get("/api/v1/changes", params={"cursor": published["cursor"]}).json()["changes"] == []

    async def unpublish(conn) -> None:  # noqa: ANN001
        await lifecycle.transition(conn, essay.id, Action.UNPUBLISH, lifecycle.ActorRef(Actor.MODERATOR),
                                   city="锦州", note="核实后撤下")

    db_write(client, unpublish)
    removed = api.get("/api/v1/changes", params={"cursor": published["cursor"]}).json()
    assert removed["changes"] == [{"id": essay.id, "change": "removed", "updated_at": removed["changes"][0]["updated_at"],
                                   "essay": None}]
    assert "核实后撤下" not in json.dumps(removed, ensure_ascii=False)


def test_published_reads_are_cached_and_invalidated_by_a_publish(api: ApiClient, client: TestClient) -> None:
    api.get("/api/v1/boards/wellbeing/essays")
    again = api.get("/api/v1/boards/wellbeing/essays")
    assert again.headers["cache-status"] == "CitizenVoice; hit" and again.headers["etag"]
    assert api.get("/api/v1/boards/wellbeing/essays", headers={"if-none-match": again.headers["etag"]}).status_code == 304
    essay = make_essay(client, "published")
    fresh = api.get("/api/v1/boards/wellbeing/essays")
    assert "hit" not in fresh.headers["cache-status"] and [e["id"] for e in fresh.json()["essays"]] == [essay.id]


# ---------------------------------------------------------------------------------------------------
# The resident's own essay


def test_a_submission_is_stored_screened_and_tracked(api: ApiClient, client: TestClient) -> None:
    answer = api.post("/api/v1/submissions", submission())
    assert answer.status_code == 201 and answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["track_url"] == f"http://127.0.0.1:8000/track/{data['tracking_token']}"
    stored = db_read(client, essay_store.get_by_token, data["tracking_token"])
    assert stored is not None and stored.tracking_code == data["tracking_code"] and stored.status == "pending"
    assert stored.phone == "13912345678" and stored.headline == "让港口的早班车再早一点"
    tracked = api.get(f"/api/v1/track/{data['tracking_token']}").json()
    assert tracked["status"] == "pending" and tracked["status_label"] == "待审核"
    assert [h["action"] for h in tracked["history"]] == ["submit"] and tracked["can_withdraw"] is True
    assert_nothing_private(json.dumps(tracked, ensure_ascii=False), ["13912345678", "wang@example.cn"])
    # The web tracking page knows it too: one essay, two ways in.
    assert client.get(f"/track/{data['tracking_token']}").status_code == 200


def test_the_same_idempotency_key_stores_one_essay(api: ApiClient, client: TestClient) -> None:
    first = api.post("/api/v1/submissions", submission()).json()
    again = api.post("/api/v1/submissions", submission())
    assert again.status_code == 201 and again.json() == first
    other_text = api.post("/api/v1/submissions", submission(headline="另一篇不同的文章标题"))
    assert other_text.status_code == 409 and "idempotency_key" in other_text.json()["error"]["message"]
    count = db_read(client, _count_essays)
    assert count == 1


async def _count_essays(conn) -> int:  # noqa: ANN001
    async with conn.execute("SELECT count(*) FROM essays") as cur:
        return (await cur.fetchone())[0]


def test_content_errors_come_back_in_chinese_for_every_field_at_once(api: ApiClient, client: TestClient) -> None:
    answer = api.post("/api/v1/submissions", submission(headline="短", body="太短了", phone="12345",
                                                       consent_publish=False, direction="nowhere"))
    assert answer.status_code == 422
    fields = answer.json()["error"]["fields"]
    assert set(fields) == {"headline", "body", "phone", "consent_publish", "direction"}
    assert fields["headline"] == "标题至少需要 4 个字，现在是 1 个字。"
    assert db_read(client, _count_essays) == 0


def test_type_errors_and_missing_fields_name_the_field(api: ApiClient, client: TestClient) -> None:
    wrong = api.post("/api/v1/submissions", submission(consent_publish="yes"))
    assert wrong.status_code == 422 and "consent_publish" in wrong.json()["error"]["fields"]
    assert "应为 true 或 false" in wrong.json()["error"]["message"]
    body = submission()
    del body["phone"], body["headline"]
    missing = api.post("/api/v1/submissions", body)
    assert missing.status_code == 422 and set(missing.json()["error"]["fields"]) == {"phone", "headline"}
    unknown = api.post("/api/v1/submissions", submission(is_admin=True))
    assert unknown.status_code == 422 and "is_admin" in unknown.json()["error"]["fields"]
    short_key = api.post("/api/v1/submissions", submission(idempotency_key="abc"))
    assert short_key.status_code == 422 and "idempotency_key" in short_key.json()["error"]["fields"]
    assert db_read(client, _count_essays) == 0


def test_only_json_bodies_are_taken(api: ApiClient, client: TestClient) -> None:
    form = api.post("/api/v1/submissions", data={"headline": "表单提交的标题"})
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"
    broken = api.post("/api/v1/submissions", content=b'{"headline": ', headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
    array = api.post("/api/v1/submissions", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert array.status_code == 400
    assert db_read(client, _count_essays) == 0


def test_submissions_are_rate_limited_like_the_form(api: ApiClient, client: TestClient) -> None:
    limit = client.app.state.settings.submit_limit_per_phone  # one phone: its daily limit
    for n in range(limit):
        key = f"key-{n:02d}-0123456789abcdef"
        answer = api.post("/api/v1/submissions", submission(idempotency_key=key, headline=f"第{n}篇关于港口的建议"))
        assert answer.status_code == 201
    refused = api.post("/api/v1/submissions", submission(idempotency_key="key-last-0123456789abcdef"))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"]["code"] == "rate_limited"


def test_the_author_sees_the_reason_and_the_note_meant_for_them(api: ApiClient, client: TestClient) -> None:
    rejected = make_essay(client, "rejected", reason="与征文主题无关", note="欢迎围绕城市发展再写一篇")
    data = api.get(f"/api/v1/track/{rejected.token}").json()
    assert data["status"] == "rejected" and data["reason"] == "与征文主题无关"
    assert data["note_for_author"] == "欢迎围绕城市发展再写一篇"
    assert [h["by"] for h in data["history"]] == ["author", "editors"]
    assert api.get("/api/v1/track/not-a-real-token-at-all-000000").status_code == 404


def test_withdraw_and_its_conflicts(api: ApiClient, client: TestClient) -> None:
    essay = make_essay(client, "pending")
    stale = api.post(f"/api/v1/track/{essay.token}/withdraw", {"version": 99})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    done = api.post(f"/api/v1/track/{essay.token}/withdraw", {})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn" and done.json()["can_withdraw"] is False
    again = api.post(f"/api/v1/track/{essay.token}/withdraw", {})
    assert again.status_code == 409 and "已撤回" in again.json()["error"]["message"]
    assert api.post(f"/api/v1/track/{essay.token}/withdraw").status_code == 415  # no body is no JSON


def test_revise_when_asked(api: ApiClient, client: TestClient) -> None:
    essay = make_essay(client, "needs_revision", note="请补充一个具体的例子")
    tracked = api.get(f"/api/v1/track/{essay.token}").json()
    assert tracked["can_revise"] is True and tracked["note_for_author"] == "请补充一个具体的例子"
    too_short = api.post(f"/api/v1/track/{essay.token}/revision", {"headline": "港口", "body": "太短"})
    assert too_short.status_code == 422 and set(too_short.json()["error"]["fields"]) == {"headline", "body"}
    revised = api.post(f"/api/v1/track/{essay.token}/revision",
                       {"headline": "港口早班车的一个例子", "body": SAMPLE_BODY + "\n\n比如每天清晨六点的那一班。",
                        "version": tracked["version"]})
    assert revised.status_code == 200 and revised.json()["status"] == "pending"
    assert revised.json()["headline"] == "港口早班车的一个例子" and revised.json()["note_for_author"] is None
    assert api.post(f"/api/v1/track/{essay.token}/revision",
                    {"headline": "港口早班车的一个例子", "body": SAMPLE_BODY}).status_code == 409


def test_answer_a_signoff_request(staff_client) -> None:
    from test_printdesk import _page, _post  # the editor's side, as the print-desk tests drive it

    editor = staff_client("editor")
    api = ApiClient(editor)
    essay = make_essay(editor, "published")
    nothing = api.post(f"/api/v1/track/{essay.token}/signoff", {"answer": "accepted"})
    assert nothing.status_code == 409 and nothing.json()["error"]["message"] == "没有待确认的见报稿。"
    page_id = _page(editor)
    _post(editor, f"/editor/pages/{page_id}/slots", essay_id=str(essay.id))
    _post(editor, f"/editor/pages/{page_id}/slots/{essay.id}/version", headline="港口的灯", byline="锦州市民 李春梅",
          body=SAMPLE_BODY.split("\n\n")[0])
    assert _post(editor, f"/editor/pages/{page_id}/slots/{essay.id}/signoff").status_code == 303
    tracked = api.get(f"/api/v1/track/{essay.token}").json()
    assert tracked["signoff"]["answer"] is None and tracked["signoff"]["headline"] == "港口的灯"
    assert tracked["signoff"]["body"] == SAMPLE_BODY.split("\n\n")[0]
    objection = api.post(f"/api/v1/track/{essay.token}/signoff", {"answer": "objected"})
    assert objection.status_code == 422 and objection.json()["error"]["fields"]["note"] == "请写下您的意见，编辑会据此修改。"
    accepted = api.post(f"/api/v1/track/{essay.token}/signoff", {"answer": "accepted"})
    assert accepted.status_code == 200 and accepted.json()["signoff"]["answer"] == "accepted"
    assert "作者已同意见报稿" in editor.get(f"/editor/pages/{page_id}").text


# ---------------------------------------------------------------------------------------------------
# The API's edges


def test_cors_is_off_by_default_and_on_for_configured_origins(make_app, tmp_path) -> None:
    def origin_headers(app: Starlette, origin: str) -> tuple[dict[str, str], int]:
        with TestClient(app) as client:
            api = ApiClient(client)
            answer = api.get("/api/v1/directions", headers={"origin": origin})
            preflight = client.options("/api/v1/submissions", headers={
                "origin": origin, "access-control-request-method": "POST"})
        return dict(answer.headers), preflight.status_code

    headers, preflight = origin_headers(make_app(tmp_path / "off"), "https://evil.example")
    assert "access-control-allow-origin" not in headers and preflight == 403
    app = make_app(tmp_path / "on", api_cors_origins=("https://servicewechat.com",))
    headers, preflight = origin_headers(app, "https://servicewechat.com")
    assert headers["access-control-allow-origin"] == "https://servicewechat.com" and preflight == 204
    headers, preflight = origin_headers(app, "https://evil.example")
    assert "access-control-allow-origin" not in headers and preflight == 403


def test_the_openapi_document_lists_every_route_and_shape(api: ApiClient, client: TestClient) -> None:
    spec = api.get("/api/v1/openapi.json").json()
    assert spec == api.spec and spec["openapi"] == "3.1.0"
    api_paths = {r.path for r in client.app.routes if getattr(r, "path", "").startswith("/api/v1")}
    documented = {"/api/v1" + p.removeprefix("/api/v1") for p in spec["paths"]}
    assert {p.replace(":id", "") for p in api_paths} == documented
    submission_schema = spec["components"]["schemas"]["Submission"]
    assert set(submission_schema["required"]) == {
        "headline", "body", "direction", "author_role", "author_name", "phone", "consent_publish",
        "consent_privacy", "idempotency_key"}
    assert "phone" not in spec["components"]["schemas"]["Essay"]["properties"]


def test_no_private_data_in_any_public_read(api: ApiClient, client: TestClient) -> None:
    essay = make_essay(client, "published", headline="公开的海风文章")
    pending = make_essay(client, "pending", headline="待审的海风文章")
    texts = [api.get(url).text for url in (
        "/api/v1/directions", "/api/v1/boards/wellbeing/essays", f"/api/v1/essays/{essay.id}",
        "/api/v1/search?q=海风", "/api/v1/changes")]
    for text in texts:
        assert_nothing_private(text, private_values(client, essay.token, pending.token))
        assert "待审的海风文章" not in text


def test_the_request_log_masks_the_token_in_api_paths(api: ApiClient, client: TestClient) -> None:
    from citizenvoice.web import logs

    created = api.post("/api/v1/submissions", submission()).json()
    for path in (f"/api/v1/track/{created['tracking_token']}", f"/api/v1/track/{created['tracking_token']}/withdraw"):
        shown = logs.safe_path(path)
        assert created["tracking_token"] not in shown and shown.startswith("/api/v1/track/[token]")


def test_with_verification_required_the_api_needs_the_phones_code(settings, make_app) -> None:
    # The form's rule holds for the API too: no essay without the phone's SMS code (issue 14).
    from tests.messaging_helpers import sent_code

    with TestClient(make_app(settings, phone_verification="required"), follow_redirects=False) as client:
        api = ApiClient(client)
        phone = submission()["phone"]
        refused = api.post("/api/v1/submissions", submission(idempotency_key="key-nocode-0123456789abcdef"))
        assert refused.status_code == 422 and "phone_code" in refused.json()["error"]["fields"]
        assert db_read(client, _count_essays) == 0
        asked = api.post("/api/v1/phone-codes", {"phone": phone})
        assert asked.status_code == 202 and asked.json() == {"sent_to": "139****5678", "expires_in": 600,
                                                             "resend_after": 60}
        again = api.post("/api/v1/phone-codes", {"phone": phone})
        assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
        code = sent_code(client, phone)
        wrong = api.post("/api/v1/submissions", submission(idempotency_key="key-wrong-0123456789abcdef",
                                                           phone_code="000000" if code != "000000" else "111111"))
        assert wrong.status_code == 422 and "验证码不对" in wrong.json()["error"]["fields"]["phone_code"]
        stored = api.post("/api/v1/submissions", submission(idempotency_key="key-code-0123456789abcdef",
                                                            phone_code=code))
        assert stored.status_code == 201
        assert db_read(client, _count_essays) == 1


def test_a_code_for_a_bad_phone_is_refused_at_the_field(api: ApiClient) -> None:
    answer = api.post("/api/v1/phone-codes", {"phone": "12345"})
    assert answer.status_code == 422 and answer.json()["error"]["fields"]["phone"]
