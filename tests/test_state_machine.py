"""The one state machine: every legal transition works, every other one is refused with nothing changed,
through the domain (lifecycle) for every actor and through the moderators' HTTP decision endpoint."""

from __future__ import annotations

import itertools

import pytest
from factories import make_essay
from moderation_support import Staff, decide, essay, events, run_db
from submit_helpers import parse

from citizenvoice.domain import lifecycle
from citizenvoice.model.essays import (
    TRANSITIONS,
    Action,
    Actor,
    IllegalTransition,
    Status,
    allowed_actions,
    next_status,
)

EXPECTED: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("pending", "approve"): ("published", {"moderator", "admin"}),
    ("pending", "reject"): ("rejected", {"moderator", "admin"}),
    ("pending", "revise"): ("needs_revision", {"moderator", "admin"}),
    ("needs_revision", "resubmit"): ("pending", {"author"}),
    ("published", "unpublish"): ("unpublished", {"moderator", "admin"}),
    ("published", "print"): ("printed", {"editor", "admin"}),
    **{(s, "withdraw"): ("withdrawn", {"author"})
       for s in ("pending", "needs_revision", "published", "rejected", "unpublished")},
}  # fmt: skip


def test_the_table_is_exactly_the_issue_s_list() -> None:
    table = {(str(s), str(a)): (str(to), {str(x) for x in who}) for (s, a), (to, who) in TRANSITIONS.items()}
    assert table == EXPECTED


@pytest.mark.parametrize("status,action,actor", list(itertools.product(Status, Action, Actor)))
def test_next_status_follows_the_table(status: Status, action: Action, actor: Actor) -> None:
    rule = EXPECTED.get((str(status), str(action)))
    if rule and str(actor) in rule[1]:
        assert next_status(status, action, actor) == Status(rule[0])
        assert action in allowed_actions(status, actor)
    else:
        with pytest.raises(IllegalTransition) as refused:
            next_status(status, action, actor)
        assert "不能执行此操作" in refused.value.message
        assert action not in allowed_actions(status, actor)


@pytest.mark.parametrize("status", [str(s) for s in Status])
def test_every_transition_from_a_status_through_lifecycle(client, status: str) -> None:
    """For each action and each kind of actor: the legal ones move the essay and record an event;
    the illegal ones raise IllegalTransition and leave status, version and the audit trail untouched."""
    for action, actor in itertools.product(Action, Actor):
        essay_id = make_essay(client, status, screen=False).id
        before, trail = essay(client, essay_id), events(client, essay_id)
        legal = EXPECTED.get((status, str(action)))

        async def attempt(conn, essay_id=essay_id, action=action, actor=actor, version=before.version):
            return await lifecycle.transition(
                conn, essay_id, action, lifecycle.ActorRef(actor, None), city="锦州", version=version,
                reason="理由", note="备注",
            )  # fmt: skip

        if legal and str(actor) in legal[1]:
            after = run_db(client, attempt, write=True)
            assert after.status == legal[0] and after.version == before.version + 1
            last = events(client, essay_id)[-1]
            assert (last.action, last.from_status, last.to_status) == (str(action), status, legal[0])
        else:
            with pytest.raises(IllegalTransition):
                run_db(client, attempt, write=True)
            assert essay(client, essay_id) == before, (status, action, actor)
            assert events(client, essay_id) == trail


MODERATOR_ACTIONS = {
    "approve": {},
    "reject": {"reason": "与本栏目主题无关", "note": "谢谢投稿"},
    "revise": {"note": "请把第二段写得更具体一些。"},
    "unpublish": {"reason": "作者要求撤下"},
}


@pytest.mark.parametrize("status", [str(s) for s in Status])
def test_every_moderator_decision_through_http(client, status: str) -> None:
    staff = Staff(client)
    staff.add("mod")
    staff.act_as("mod")
    for action, fields in MODERATOR_ACTIONS.items():
        essay_id = make_essay(client, status, screen=False).id
        before, trail = essay(client, essay_id), events(client, essay_id)
        response = decide(client, essay_id, action, **fields)
        legal = EXPECTED.get((status, action))
        if legal:
            assert response.status_code == 303, (status, action, response.text[-500:])
            after = essay(client, essay_id)
            assert after.status == legal[0]
            last = events(client, essay_id)[-1]
            assert (last.action, last.actor_kind, last.actor_id) == (action, "moderator", staff.ids["mod"])
        else:
            assert response.status_code == 409, (status, action)
            alert = parse(response.text).find(class_="alert-error")
            assert alert is not None and "不能执行此操作" in alert.text()
            assert essay(client, essay_id) == before
            assert events(client, essay_id) == trail


@pytest.mark.parametrize("action", ["resubmit", "withdraw", "print", "delete", ""])
def test_actions_that_are_not_moderators_are_refused_over_http(client, action: str) -> None:
    staff = Staff(client)
    staff.add("mod")
    staff.act_as("mod")
    essay_id = make_essay(client, "published" if action == "print" else "needs_revision", screen=False).id
    before = essay(client, essay_id)
    response = decide(client, essay_id, action)
    assert response.status_code == 422
    assert essay(client, essay_id) == before


def test_the_printed_essay_cannot_be_withdrawn_even_by_its_author(client) -> None:
    essay_id = make_essay(client, "printed", screen=False).id

    async def withdraw(conn):
        await lifecycle.transition(conn, essay_id, Action.WITHDRAW, lifecycle.AUTHOR, city="锦州")

    with pytest.raises(IllegalTransition):
        run_db(client, withdraw, write=True)
    assert essay(client, essay_id).status == Status.PRINTED


def test_make_essay_reaches_every_status(client) -> None:
    # Guards the factory the tests rely on (factories.make_essay): each status is really reached.
    for status in Status:
        essay_id = make_essay(client, str(status), screen=False).id
        assert essay(client, essay_id).status == status
    essay_id = make_essay(client, "withdrawn_after_publishing", screen=False).id
    assert essay(client, essay_id).status == Status.WITHDRAWN and essay(client, essay_id).published_at
