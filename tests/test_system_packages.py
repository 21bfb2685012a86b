"""scripts/system-packages decides what to install: run on a sandboxed PATH where ``id``, ``apt-get`` and
``npm`` are stubs that record their arguments, and font directories of the test's own, so nothing is
installed and nothing needs root."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "system-packages"
BASH = shutil.which("bash") or "/bin/bash"
TOOLS = ("find", "mkdir")  # the real commands the script uses besides the stubbed ones


@dataclass
class Machine:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def fonts(self) -> Path:
        return self.root / "fonts"

    @property
    def axe(self) -> Path:
        return self.root / "npm" / "node_modules" / "axe-core" / "axe.min.js"

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def command(self, name: str, body: str = "") -> None:
        path = self.bin / name
        path.write_text(f'#!{BASH}\necho "{name} $*" >> "{self.root}/calls.log"\n{body}\n')
        path.chmod(0o755)

    def has_everything(self) -> Machine:
        for name in ("NotoSerifCJK-Regular.ttc", "NotoSansCJK-Regular.ttc"):
            (self.fonts / "opentype" / "noto").mkdir(parents=True, exist_ok=True)
            (self.fonts / "opentype" / "noto" / name).write_bytes(b"")
        for name in ("chromium", "pdftoppm", "npm"):
            self.command(name)
        (self.root / "pg" / "15" / "bin").mkdir(parents=True, exist_ok=True)
        (self.root / "pg" / "15" / "bin" / "initdb").write_text("")
        self.axe.parent.mkdir(parents=True, exist_ok=True)
        self.axe.write_text("")
        return self

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": str(self.bin), "FONT_DIRS": str(self.fonts), "AXE_PREFIX": str(self.root / "npm"),
               "PG_DIRS": str(self.root / "pg"), "HOME": str(self.root)}  # fmt: skip
        return subprocess.run([BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    found = Machine(tmp_path)
    found.bin.mkdir()
    found.fonts.mkdir()
    for tool in TOOLS:
        os.symlink(shutil.which(tool), found.bin / tool)
    found.command("id", "echo 0")  # root, unless a test says otherwise
    found.command("apt-get")
    return found


def as_user(machine: Machine, uid: int) -> None:
    machine.command("id", f"echo {uid}")


def test_a_machine_with_everything_runs_no_apt_get_not_even_update(machine: Machine) -> None:
    machine.has_everything()
    for mode in ("run", "test"):
        result = machine.run(mode)
        assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr
    assert [c for c in machine.calls if not c.startswith("id")] == []


def test_run_installs_only_the_fonts_as_root(machine: Machine) -> None:
    result = machine.run("run")  # no fonts, no chromium, no npm: run needs only the fonts
    assert result.returncode == 0, result.stderr
    assert [c for c in machine.calls if c.startswith("apt-get")] == [
        "apt-get update -qq", "apt-get install -y -qq fonts-noto-cjk"]  # fmt: skip
    assert "installing fonts-noto-cjk" in result.stdout


def test_test_installs_the_missing_packages_then_axe_core(machine: Machine) -> None:
    machine.command("npm", f'mkdir -p "{machine.axe.parent}"')
    machine.command("pdftoppm")
    result = machine.run("test")
    assert result.returncode == 0, result.stderr
    calls = [c for c in machine.calls if not c.startswith("id")]
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq fonts-noto-cjk chromium postgresql",
        f"npm install --prefix {machine.root / 'npm'} --no-audit --no-fund --silent axe-core@4",
    ]


def test_without_root_it_names_the_packages_in_one_line_and_carries_on(machine: Machine) -> None:
    as_user(machine, 1000)
    result = machine.run("test")
    assert result.returncode == 0
    [line] = result.stdout.splitlines()
    for package in ("fonts-noto-cjk", "chromium", "poppler-utils", "npm", "postgresql"):
        assert package in line
    assert "apt-get install fonts-noto-cjk chromium poppler-utils npm" in line
    assert [c for c in machine.calls if c.startswith("apt-get")] == []


def test_without_apt_get_it_says_so_too(machine: Machine) -> None:
    (machine.bin / "apt-get").unlink()
    result = machine.run("run")
    assert result.returncode == 0
    [line] = result.stdout.splitlines()
    assert "fonts-noto-cjk" in line and "carrying on" in line


def test_check_says_what_it_would_do_and_does_nothing(machine: Machine) -> None:
    machine.command("npm")
    result = machine.run("test", "--check")
    assert result.returncode == 0
    assert "would run: apt-get update && apt-get install -y fonts-noto-cjk chromium poppler-utils" in result.stdout
    assert "would run: npm install" in result.stdout
    assert [c for c in machine.calls if not c.startswith("id")] == []
    machine.has_everything()
    assert machine.run("test", "--check").stdout.strip() == "system-packages (test): nothing to install"


def test_strict_fails_when_something_is_still_missing(machine: Machine) -> None:
    as_user(machine, 1000)
    assert machine.run("run", "--strict").returncode == 1
    machine.has_everything()
    assert machine.run("test", "--strict").returncode == 0


def test_google_builds_of_the_fonts_count_too(machine: Machine) -> None:
    for name in ("NotoSerifSC-Regular.otf", "NotoSansSC-Regular.otf"):
        (machine.fonts / name).write_bytes(b"")
    assert machine.run("run", "--check").stdout.strip() == "system-packages (run): nothing to install"


def test_a_mode_is_required(machine: Machine) -> None:
    assert machine.run().returncode == 2
    assert machine.run("deploy").returncode == 2
