"""The ``citizenvoice user`` commands as an operator runs them: add (password from stdin or a prompt,
never shorter than 10 characters), list, and disable, which also ends the user's open sessions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support import PASSWORD, csrf_from, login

from citizenvoice import cli
from citizenvoice.settings import Settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(path))
    monkeypatch.setenv("CITIZENVOICE_SECRET_KEY", "test-secret-key-not-for-production")
    return path


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(list(argv))


def listed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
    capsys.readouterr()
    assert run(monkeypatch, "user", "list") == 0
    return [line.split("\t") for line in capsys.readouterr().out.splitlines()]


def test_add_with_password_stdin_then_list(data_dir: Path, monkeypatch, capsys) -> None:
    args = ("user", "add", "wang", "--role", "moderator", "--role", "editor", "--password-stdin")
    assert run(monkeypatch, *args, stdin=PASSWORD + "\n") == 0
    assert listed(monkeypatch, capsys) == [["wang", "editor,moderator", "active"]]
    stored = b"".join(f.read_bytes() for f in data_dir.iterdir() if f.name.startswith("citizenvoice.db"))
    assert PASSWORD.encode() not in stored  # only the argon2 hash is kept (database and WAL alike)


def test_add_reads_the_password_from_a_prompt(data_dir: Path, monkeypatch, capsys) -> None:
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    assert run(monkeypatch, "user", "add", "li", "--role", "moderator") == 0
    assert listed(monkeypatch, capsys) == [["li", "moderator", "active"]]


def test_a_short_password_is_refused_and_nobody_is_added(data_dir: Path, monkeypatch, capsys) -> None:
    assert run(monkeypatch, "user", "add", "zhao", "--role", "moderator", "--password-stdin", stdin="short\n") == 2
    assert "至少需要 12 个字符" in capsys.readouterr().err
    assert listed(monkeypatch, capsys) == []


def test_an_unknown_role_is_refused(data_dir: Path, monkeypatch) -> None:
    with pytest.raises(SystemExit):
        run(monkeypatch, "user", "add", "sun", "--role", "mayor", "--password-stdin", stdin=PASSWORD + "\n")


def test_disable_ends_open_sessions_and_further_logins(data_dir: Path, monkeypatch, capsys, make_app) -> None:
    assert run(monkeypatch, "user", "add", "qian", "--role", "moderator", "--password-stdin", stdin=PASSWORD + "\n") == 0
    app = make_app(Settings.from_env())  # the database the commands use
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        login(client, "qian")
        assert client.get("/moderate").status_code == 200
        assert run(monkeypatch, "user", "disable", "qian") == 0
        assert client.get("/moderate").status_code == 303  # back to the login page at once
        token = csrf_from(client.get("/login").text)
        again = client.post("/login", data={"username": "qian", "password": PASSWORD, "csrf_token": token})
        assert again.status_code == 400
    assert listed(monkeypatch, capsys) == [["qian", "moderator", "disabled"]]


def test_add_a_chief_and_a_reviewer(data_dir: Path, monkeypatch, capsys) -> None:
    assert run(monkeypatch, "user", "add", "zhou", "--role", "chief", "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert run(monkeypatch, "user", "add", "wu", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert sorted(listed(monkeypatch, capsys)) == [["wu", "reviewer", "active"], ["zhou", "chief", "active"]]
