"""Two- and three-level review (三审制): each level's transitions through the one decision endpoint, the
queue per level, claims, versions, bulk decisions, what the author sees, and what happens to essays in
flight when an admin changes review_levels."""

from __future__ import annotations

import pytest
from factories import make_essay
from moderation_support import Staff, body_about, decide, essay, events
from review_support import put_at_stage, set_levels
from submit_helpers import parse
from support import csrf_from

from citizenvoice.settings import Settings, SettingsError


@pytest.fixture
def staff(client) -> Staff:
    team = Staff(client)
    team.add("boss", "admin")
    team.add("chu", "moderator")
    team.add("chu2", "moderator")
    team.add("fu", "reviewer")
    team.add("zhong", "chief")
    team.add("zhong2", "chief")
    return team


def levels(staff: Staff, n: int) -> None:
    response = set_levels(staff.act_as("boss"), n)
    assert response.status_code == 303, response.text


def trail_actions(client, essay_id: int) -> list[tuple[str, int | None, str | None]]:
    return [(e.action, e.review_stage, e.actor_name) for e in events(client, essay_id) if e.action != "submit"]


# ---------------------------------------------------------------------------------------------------
# The setting


def test_review_levels_from_the_environment() -> None:
    assert Settings.from_env({}).review_levels == 1
    assert Settings.from_env({"CITIZENVOICE_REVIEW_LEVELS": "3"}).review_levels == 3
    with pytest.raises(SettingsError, match="CITIZENVOICE_REVIEW_LEVELS"):
        Settings.from_env({"CITIZENVOICE_REVIEW_LEVELS": "4"})


def test_an_environment_default_of_two_levels_applies_without_an_admin(tmp_path, make_app) -> None:
    from starlette.testclient import TestClient

    with TestClient(make_app(tmp_path, review_levels=2), follow_redirects=False) as client:
        team = Staff(client)
        team.add("chu", "moderator")
        essay_id = make_essay(client, body=body_about(1)).id
        assert decide(team.act_as("chu"), essay_id, "approve").status_code == 303
        assert (essay(client, essay_id).status, essay(client, essay_id).review_stage) == ("pending", 2)


def test_the_admin_chooses_the_levels_and_a_bad_choice_is_explained(client, staff) -> None:
    admin = staff.act_as("boss")
    page = parse(admin.get("/admin/settings").text)
    assert page.find("input", name="review_levels", value="1").get("checked") is not None
    assert set_levels(admin, 3).status_code == 303
    page = parse(admin.get("/admin/settings").text)
    assert page.find("input", name="review_levels", value="3").get("checked") is not None
    token = csrf_from(admin.get("/admin/settings").text)
    refused = admin.post("/admin/settings", data={"site_name": "新名字", "city": "锦州", "paper_name": "锦州日报",
                                                  "column_title": "写给下一个五年", "review_levels": "9",
                                                  "csrf_token": token})  # fmt: skip
    assert refused.status_code == 422
    assert "请从列表中选择审核级数" in refused.text
    assert parse(refused.text).find("input", name="site_name").get("value") == "新名字"  # input kept
    audit = admin.get("/admin/audit").text
    assert "review_levels" in audit


# ---------------------------------------------------------------------------------------------------
# Two levels: 初审 → 终审


def test_two_levels_initial_approve_hands_over_and_only_the_chief_publishes(client, staff) -> None:
    levels(staff, 2)
    essay_id = make_essay(client, body=body_about(2)).id
    track_before = client.get(f"/track/{make_essay(client, body=body_about(3)).token}")
    assert decide(staff.act_as("chu"), essay_id, "approve", note="初审意见").status_code == 303
    after = essay(client, essay_id)
    assert (after.status, after.review_stage) == ("pending", 2)
    # not public yet
    assert staff.anonymous().get(f"/essays/{essay_id}").status_code == 404
    # the moderator cannot decide the 终审, and says why
    refused = decide(staff.act_as("chu"), essay_id, "approve")
    assert refused.status_code == 403 and "待终审" in refused.text
    assert essay(client, essay_id).review_stage == 2
    # the chief's queue holds it, with its count
    chief = staff.act_as("zhong")
    queue = parse(chief.get("/moderate?stage=2").text)
    assert [h.find("a").text() for h in queue.find_all("h2", class_="queue-title")] == ["港口的灯光照亮回家的路"]
    tabs = {a.text().split()[0]: a.text().split()[-1] for a in queue.find(class_="stage-tabs").find_all("a")}
    assert tabs == {"待初审": "1", "待终审": "1"}  # the second essay is still at 初审
    assert decide(chief, essay_id, "approve").status_code == 303
    assert essay(client, essay_id).status == "published"
    assert trail_actions(client, essay_id) == [("pass", 1, "chu"), ("approve", 2, "zhong")]
    assert track_before.status_code == 200


def test_the_author_sees_the_same_waiting_page_until_the_last_level(client, staff) -> None:
    levels(staff, 2)
    made = make_essay(client, body=body_about(4))
    before = parse(staff.anonymous().get(f"/track/{made.token}").text)
    assert decide(staff.act_as("chu"), made.id, "approve").status_code == 303
    after_page = staff.anonymous().get(f"/track/{made.token}").text
    after = parse(after_page)
    assert after.find(class_="status-label").text() == before.find(class_="status-label").text() == "待审核"
    assert len(after.find(class_="history").find_all("li")) == len(before.find(class_="history").find_all("li"))  # the hand-over is internal
    assert "初审" not in after_page and "终审" not in after_page
    export = staff.anonymous().get(f"/track/{made.token}/export.json").json()
    assert [e["action"] for e in export["events"]] == ["submit"]


def test_the_chief_rejects_and_the_author_sees_the_reason(client, staff) -> None:
    levels(staff, 2)
    made = make_essay(client, body=body_about(5))
    decide(staff.act_as("chu"), made.id, "approve")
    chief = staff.act_as("zhong")
    reason = parse(chief.get(f"/moderate/{made.id}").text).by_id("reject-reason").find_all("option")[1]
    assert decide(chief, made.id, "reject", reason=reason.get("value") or "", note="终审未通过").status_code == 303
    assert essay(client, made.id).status == "rejected"
    track = staff.anonymous().get(f"/track/{made.token}").text
    assert reason.text() in track
    assert trail_actions(client, made.id)[-1] == ("reject", 2, "zhong")


def test_the_chief_returns_for_revision_and_the_resubmission_starts_at_the_first_level(client, staff) -> None:
    levels(staff, 2)
    made = make_essay(client, body=body_about(6))
    decide(staff.act_as("chu"), made.id, "approve")
    assert decide(staff.act_as("zhong"), made.id, "revise", note="请补充具体的事例和数据").status_code == 303
    revised = essay(client, made.id)
    assert (revised.status, revised.review_stage) == ("needs_revision", 1)
    assert "请补充具体的事例和数据" in staff.anonymous().get(f"/track/{made.token}").text


def test_the_chief_sends_back_to_the_first_level_with_a_note(client, staff) -> None:
    levels(staff, 2)
    essay_id = make_essay(client, body=body_about(7)).id
    decide(staff.act_as("chu"), essay_id, "approve")
    chief = staff.act_as("zhong")
    short = decide(chief, essay_id, "send_back", note="再看")
    assert short.status_code == 422 and "至少 5 个字" in short.text
    assert decide(chief, essay_id, "send_back", note="标题与正文不符，请初审再核").status_code == 303
    back = essay(client, essay_id)
    assert (back.status, back.review_stage) == ("pending", 1)
    page = staff.act_as("chu").get(f"/moderate/{essay_id}").text
    assert "标题与正文不符，请初审再核" in page  # the lower level reads the note in the trail
    assert trail_actions(client, essay_id)[-1] == ("send_back", 2, "zhong")
    # the first level cannot "send back" further
    assert decide(staff.act_as("chu"), essay_id, "send_back", note="没有更低一级了").status_code == 422


def test_one_person_does_not_pass_both_levels(client, staff) -> None:
    levels(staff, 2)
    essay_id = make_essay(client, body=body_about(8)).id
    admin = staff.act_as("boss")
    assert decide(admin, essay_id, "approve").status_code == 303  # admins may decide at every level…
    again = decide(admin, essay_id, "approve")
    assert again.status_code == 403 and "另一位同事" in again.text  # …but not twice on one essay
    assert essay(client, essay_id).status == "pending"
    assert decide(staff.act_as("zhong"), essay_id, "approve").status_code == 303


def test_claims_and_versions_hold_at_the_final_level(client, staff) -> None:
    levels(staff, 2)
    essay_id = make_essay(client, body=body_about(9)).id
    decide(staff.act_as("chu"), essay_id, "approve")
    seen = essay(client, essay_id).version
    staff.act_as("zhong").get(f"/moderate/{essay_id}")  # opening it claims it for zhong
    blocked = decide(staff.act_as("zhong2"), essay_id, "approve")
    assert blocked.status_code == 423 and "接手审核" in blocked.text
    stale = decide(staff.act_as("zhong"), essay_id, "approve", version=seen - 1)
    assert stale.status_code == 409 and "旧版本" in stale.text
    assert essay(client, essay_id).status == "pending"


def test_the_item_page_offers_the_level_its_own_decision_and_keys(client, staff) -> None:
    levels(staff, 2)
    essay_id = make_essay(client, body=body_about(10)).id
    first = parse(staff.act_as("chu").get(f"/moderate/{essay_id}").text)
    assert "通过初审，送终审" in first.by_id("form-approve").find("button").text()
    assert first.by_id("form-approve").find("kbd").text() == "a"
    assert first.find(id="form-send_back") is None
    decide(staff.act_as("chu"), essay_id, "approve")
    other = parse(staff.act_as("chu").get(f"/moderate/{essay_id}").text)
    assert other.find(id="form-approve") is None and other.find(id="other-level") is not None
    final = parse(staff.act_as("zhong").get(f"/moderate/{essay_id}").text)
    assert final.by_id("review-stage").text() == "待终审"
    assert "通过并发表" in final.by_id("form-approve").find("button").text()
    assert final.find(id="form-send_back") is not None


def test_next_item_walks_the_users_own_level(client, staff) -> None:
    levels(staff, 2)
    low = make_essay(client, body=body_about(11), submitted_hours_ago=5).id
    high = make_essay(client, body=body_about(12), submitted_hours_ago=1).id
    put_at_stage(client, high, 2)
    assert staff.act_as("chu").get("/moderate/next").headers["location"] == f"/moderate/{low}"
    assert staff.act_as("zhong").get("/moderate/next").headers["location"] == f"/moderate/{high}"
    assert staff.act_as("fu").get("/moderate/next").headers["location"] == "/moderate"  # no 复审 with 2 levels


def test_bulk_approve_at_each_level(client, staff) -> None:
    levels(staff, 2)
    ids = [make_essay(client, body=body_about(20 + n)).id for n in range(2)]
    first = staff.act_as("chu")
    token = csrf_from(first.get("/moderate").text)
    picks = [f"{i}:{essay(client, i).version}" for i in ids]
    done = first.post("/moderate/bulk", data={"ids": picks, "action": "approve", "csrf_token": token})
    assert done.status_code == 200 and done.text.count("已通过初审，送终审") == 2
    assert [essay(client, i).review_stage for i in ids] == [2, 2]
    # the moderator's bulk on 终审 items changes nothing and says why
    picks = [f"{i}:{essay(client, i).version}" for i in ids]
    refused = first.post("/moderate/bulk", data={"ids": picks, "action": "approve", "csrf_token": token})
    assert refused.text.count("待终审") >= 2 and [essay(client, i).status for i in ids] == ["pending", "pending"]
    chief = staff.act_as("zhong")
    queue = parse(chief.get("/moderate?stage=2").text)
    assert len(queue.find_all("input", class_="pick")) == 2 and "批量通过并发表" in queue.find(class_="bulk-bar").text()
    token = csrf_from(chief.get("/moderate").text)
    final = chief.post("/moderate/bulk", data={"ids": picks, "action": "approve", "csrf_token": token})
    assert final.text.count("已通过并发表") == 2
    assert [essay(client, i).status for i in ids] == ["published", "published"]


# ---------------------------------------------------------------------------------------------------
# Three levels: 初审 → 复审 → 终审


def test_three_levels_each_level_passes_to_the_next(client, staff) -> None:
    levels(staff, 3)
    essay_id = make_essay(client, body=body_about(30)).id
    assert decide(staff.act_as("chu"), essay_id, "approve").status_code == 303
    assert essay(client, essay_id).review_stage == 2
    assert decide(staff.act_as("zhong"), essay_id, "approve").status_code == 403  # 复审 is the reviewer's
    assert decide(staff.act_as("fu"), essay_id, "approve", note="复审通过").status_code == 303
    assert (essay(client, essay_id).status, essay(client, essay_id).review_stage) == ("pending", 3)
    assert decide(staff.act_as("fu"), essay_id, "approve").status_code == 403
    assert decide(staff.act_as("zhong"), essay_id, "approve").status_code == 303
    assert essay(client, essay_id).status == "published"
    assert trail_actions(client, essay_id) == [("pass", 1, "chu"), ("pass", 2, "fu"), ("approve", 3, "zhong")]
    trail = parse(staff.act_as("zhong").get(f"/moderate/{essay_id}").text).by_id("trail").text()
    assert "（初审）" in trail and "（复审）" in trail and "（终审）" in trail


def test_three_levels_the_chief_sends_back_to_the_first_or_the_second(client, staff) -> None:
    levels(staff, 3)
    essay_id = make_essay(client, body=body_about(31)).id
    decide(staff.act_as("chu"), essay_id, "approve")
    decide(staff.act_as("fu"), essay_id, "approve")
    chief = staff.act_as("zhong")
    options = [o.text() for o in parse(chief.get(f"/moderate/{essay_id}").text).by_id("send_back-to_stage").find_all("option")]
    assert options == ["复审", "初审"]
    assert decide(chief, essay_id, "send_back", to_stage="1", note="事实需要初审重新核对").status_code == 303
    assert essay(client, essay_id).review_stage == 1
    decide(staff.act_as("chu"), essay_id, "approve")
    assert decide(staff.act_as("fu"), essay_id, "send_back", note="请初审补充核实来源").status_code == 303
    assert essay(client, essay_id).review_stage == 1
    wrong = decide(staff.act_as("chu2"), essay_id, "send_back", to_stage="3", note="往上退回是不行的")
    assert wrong.status_code == 422


def test_three_levels_the_reviewer_rejects(client, staff) -> None:
    levels(staff, 3)
    made = make_essay(client, body=body_about(32))
    decide(staff.act_as("chu"), made.id, "approve")
    reviewer = staff.act_as("fu")
    reason = parse(reviewer.get(f"/moderate/{made.id}").text).by_id("reject-reason").find_all("option")[1]
    assert decide(reviewer, made.id, "reject", reason=reason.get("value") or "").status_code == 303
    assert essay(client, made.id).status == "rejected"
    assert reason.text() in staff.anonymous().get(f"/track/{made.token}").text


def test_the_queue_counts_each_levels_items(client, staff) -> None:
    levels(staff, 3)
    for n, stage in enumerate((1, 1, 2, 3, 3, 3)):
        put_at_stage(client, make_essay(client, body=body_about(40 + n)).id, stage)
    page = parse(staff.act_as("fu").get("/moderate").text)
    tabs = [a.text().split() for a in page.find(class_="stage-tabs").find_all("a")]
    assert tabs == [["待初审", "2"], ["待复审", "1"], ["待终审", "3"]]
    assert page.find(class_="stage-tabs").find("a", **{"aria-current": "page"}).text().startswith("待复审")  # the reviewer's own
    assert len(page.find_all("h2", class_="queue-title")) == 1


# ---------------------------------------------------------------------------------------------------
# Changing the setting with essays in flight


def test_lowering_the_levels_leaves_no_essay_stranded(client, staff) -> None:
    levels(staff, 3)
    at2 = make_essay(client, body=body_about(50)).id
    at3 = make_essay(client, body=body_about(51)).id
    put_at_stage(client, at2, 2)
    put_at_stage(client, at3, 3)
    levels(staff, 2)
    # stage 3 is above the last level now: the chief's queue (the final one) holds both
    queue = parse(staff.act_as("zhong").get("/moderate?stage=2").text)
    assert len(queue.find_all("h2", class_="queue-title")) == 2
    assert decide(staff.act_as("zhong"), at3, "approve").status_code == 303
    assert essay(client, at3).status == "published"
    levels(staff, 1)
    # one level: the moderators' queue holds what waited higher up, and their approve publishes
    queue = parse(staff.act_as("chu").get("/moderate").text)
    assert [h.find("a").get("href") for h in queue.find_all("h2", class_="queue-title")] == [f"/moderate/{at2}"]
    assert decide(staff.act_as("chu"), at2, "approve").status_code == 303
    assert essay(client, at2).status == "published"
    assert trail_actions(client, at2)[-1] == ("approve", 1, "chu")


def test_raising_the_levels_adds_the_new_level_to_essays_not_yet_published(client, staff) -> None:
    waiting = make_essay(client, body=body_about(52)).id
    levels(staff, 2)
    assert decide(staff.act_as("chu"), waiting, "approve").status_code == 303
    assert (essay(client, waiting).status, essay(client, waiting).review_stage) == ("pending", 2)
    levels(staff, 3)
    # stage 2 is now 复审: the essay gets the review the new rule asks for before the chief's
    assert decide(staff.act_as("zhong"), waiting, "approve").status_code == 403
    assert decide(staff.act_as("fu"), waiting, "approve").status_code == 303
    assert decide(staff.act_as("zhong"), waiting, "approve").status_code == 303
    assert essay(client, waiting).status == "published"


def test_one_level_is_todays_behaviour(client, staff) -> None:
    essay_id = make_essay(client, body=body_about(53)).id
    page = parse(staff.act_as("chu").get("/moderate").text)
    assert page.find(class_="stage-tabs") is None
    assert decide(staff.act_as("chu"), essay_id, "approve").status_code == 303
    assert essay(client, essay_id).status == "published"
    assert decide(staff.act_as("zhong"), make_essay(client, body=body_about(54)).id, "approve").status_code == 403


# ---------------------------------------------------------------------------------------------------
# Migration 0014: the relaxed CHECKs still refuse what is unknown


@pytest.mark.sqlite_only("SQLite's retired tables of 0014 (PostgreSQL alters the CHECK)")
def test_the_schema_still_refuses_unknown_roles_and_settings(client, staff) -> None:
    import sqlite3

    from support import db_write

    async def bad_role(conn) -> None:  # type: ignore[no-untyped-def]
        await conn.execute("INSERT INTO user_roles (user_id, role) VALUES (?, 'mayor')", (staff.ids["chu"],))

    async def bad_levels(conn) -> None:  # type: ignore[no-untyped-def]
        await conn.execute("INSERT INTO site_settings (key, value, updated_at) VALUES ('review_levels', '7', 'x')")

    async def bad_key(conn) -> None:  # type: ignore[no-untyped-def]
        await conn.execute("INSERT INTO site_settings (key, value, updated_at) VALUES ('colour', 'red', 'x')")

    for work in (bad_role, bad_levels, bad_key):
        with pytest.raises(sqlite3.IntegrityError):
            db_write(client, work)

    async def leftovers(conn) -> list[int]:  # type: ignore[no-untyped-def]
        counts = []
        for table in ("retired_user_roles_0003", "retired_site_settings_0006"):
            async with conn.execute(f"SELECT count(*) FROM {table}") as cur:  # noqa: S608
                counts.append((await cur.fetchone())[0])
        return counts

    assert db_write(client, leftovers) == [0, 0]  # the retired tables hold no second copy


def test_another_levels_essay_cannot_be_taken_over(client, staff) -> None:
    levels(staff, 2)
    essay_id = make_essay(client, body=body_about(60)).id
    decide(staff.act_as("chu"), essay_id, "approve")
    staff.act_as("zhong").get(f"/moderate/{essay_id}")  # the chief holds it
    moderator = staff.act_as("chu2")
    token = csrf_from(moderator.get("/moderate").text)
    refused = moderator.post(f"/moderate/{essay_id}/claim", data={"takeover": "1", "csrf_token": token})
    assert refused.status_code == 403 and "待终审" in refused.text
    assert decide(staff.act_as("zhong"), essay_id, "approve").status_code == 303  # still the chief's


def test_the_queue_report_counts_each_level() -> None:
    from citizenvoice.domain.moderation import QueueHealth, report_lines

    health = QueueHealth({"pending": 3}, 3, None, None, 0, 24, by_stage={1: 1, 2: 0, 3: 2}, levels=3)
    lines = report_lines(health)
    assert "  待初审 / stage 1: 1" in lines and "  待终审 / stage 3: 2" in lines
