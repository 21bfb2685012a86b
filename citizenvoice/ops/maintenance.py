"""Operations commands: ``citizenvoice backup | restore | check | purge``, and ``export | erase`` for
authors' requests that reach the newsroom without the tracking link.

A backup is a directory (or a ``.tar.gz`` of one) holding ``citizenvoice.db``, ``media/`` and
``manifest.json``. The database is copied with SQLite's online backup API in one step, which reads a
single consistent snapshot while the server keeps writing (WAL readers never block the writer), so
no downtime is needed and no half-written transaction is ever copied.

On PostgreSQL (``CITIZENVOICE_DATABASE_URL``) the same commands, arguments and messages: the backup
holds ``citizenvoice.pgdump`` (pg_dump's custom format, taken in one snapshot with the manifest's
counts: db/pgdump.py) instead of ``citizenvoice.db``; restore replaces the database in one transaction;
check reads the catalogue for what PostgreSQL can say is broken. A backup restores onto the backend it
came from (``citizenvoice migrate-to-postgres`` moves a SQLite site across).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from citizenvoice import db as database
from citizenvoice.db import pgdump
from citizenvoice.domain import privacy, sitesettings
from citizenvoice.model.essays import normalize_tracking_code
from citizenvoice.ops.commands import command, run_async
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import essays as essay_store

DB_NAME = "citizenvoice.db"
PG_DB_NAME = "citizenvoice.pgdump"
MEDIA_NAME = "media"
MANIFEST_NAME = "manifest.json"
BACKUP_FORMAT = "citizenvoice-backup/1"


class OperationError(RuntimeError):
    pass


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version() -> str:
    try:
        return metadata.version("citizenvoice")
    except metadata.PackageNotFoundError:
        return "unknown"


def _media_files(media_dir: Path) -> list[Path]:
    if not media_dir.is_dir():
        return []
    return sorted(p for p in media_dir.rglob("*") if p.is_file() and not p.is_symlink())


# ---------------------------------------------------------------------------------------------------
# backup


def snapshot_database(source: Path, target: Path) -> None:
    """Copy a live database into ``target`` as one consistent snapshot, as a single self-contained file."""
    src = database.connect_sync(source)
    dst = sqlite3.connect(target)  # a new file, written only by the backup API
    try:
        src.backup(dst)  # pages=-1: the whole database within one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the copy
    finally:
        dst.close()
        src.close()


def create_backup(settings: Settings, target: Path) -> dict[str, Any]:
    if not settings.database_url and not settings.db_path.exists():
        raise OperationError(f"no database at {settings.db_path}")
    if target.exists() and (_is_archive(target) or any(target.iterdir())):
        raise OperationError(f"{target} already exists; choose a new name so no backup is overwritten")
    if _is_archive(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            manifest = _write_backup_dir(settings, Path(tmp) / "backup")
            partial = target.with_name(target.name + ".partial")
            with tarfile.open(partial, "w:gz") as tar:
                for item in sorted((Path(tmp) / "backup").iterdir()):
                    tar.add(item, arcname=item.name)
            partial.rename(target)  # a crash never leaves a truncated archive under the real name
        return manifest
    return _write_backup_dir(settings, target)


def _write_backup_dir(settings: Settings, directory: Path) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    if settings.database_url:
        db_copy = directory / PG_DB_NAME
        found = _pg(lambda: pgdump.dump(settings.database_url, db_copy, more=admin_store.referenced_photos))
        _pg(lambda: pgdump.verify(db_copy))
        problems, counts, migrations, referenced = found.problems, found.table_counts, found.migrations, found.extra
    else:
        db_copy = directory / DB_NAME
        snapshot_database(settings.db_path, db_copy)
        with database.sync_connection(db_copy, readonly=True) as conn:
            problems = admin_store.integrity_problems(conn)
            counts = admin_store.table_counts(conn)
            migrations = admin_store.applied_migrations(conn)
            referenced = admin_store.referenced_media(conn)
    if problems:
        raise OperationError("the backup copy failed its integrity check: " + "; ".join(problems[:5]))
    # Media after the snapshot: every photo the snapshot references existed before it was taken.
    media = _copy_media(settings.media_path, directory / MEDIA_NAME)
    manifest = {
        "format": BACKUP_FORMAT,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "app_version": _version(),
        "database": {"file": db_copy.name, "dialect": "postgresql" if settings.database_url else "sqlite",
                     "bytes": db_copy.stat().st_size, "sha256": _sha256(db_copy)},
        "migrations": migrations,
        "table_counts": counts,
        "media": media,
        "missing_media": sorted(referenced - {m["path"] for m in media}),
    }
    (directory / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest


def _copy_media(source: Path, target: Path) -> list[dict[str, Any]]:
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for file in _media_files(source):
        relative = file.relative_to(source)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(file, destination)
        except FileNotFoundError:  # erased between listing and copying: rightly not in the backup
            continue
        copied.append(
            {"path": relative.as_posix(), "bytes": destination.stat().st_size, "sha256": _sha256(destination)}
        )
    return copied


def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="a new directory, or a file name ending in .tar.gz")


def _pg(step: Any) -> Any:
    """A PostgreSQL step of backup/restore/check, its failures (a missing pg_dump, an unreachable
    server) told as an OperationError: the command's own message, not a traceback."""
    try:
        return step()
    except pgdump.DumpError as exc:
        raise OperationError(str(exc)) from None
    except (OSError, TimeoutError, *database.errors()) as exc:
        raise OperationError(f"PostgreSQL: {type(exc).__name__}: {exc}") from None


def _target(settings: Settings) -> str:
    """The database a message names: the SQLite file, or the URL without its password."""
    return pgdump.display_url(settings.database_url) if settings.database_url else str(settings.db_path)


@command("backup", "back up the database and media while the site keeps running", _backup_args)
def backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        manifest = create_backup(settings, args.path)
    except OperationError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    essays = manifest["table_counts"].get("essays", 0)
    print(f"backup written to {args.path}: {essays} essays, {len(manifest['media'])} media files")
    for missing in manifest["missing_media"]:
        print(f"warning: referenced photo missing from media: {missing}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------------
# restore


def _unpack(source: Path, workdir: Path) -> Path:
    if source.is_dir():
        return source
    if not (source.is_file() and _is_archive(source)):
        raise OperationError(f"{source} is neither a backup directory nor a .tar.gz backup")
    with tarfile.open(source, "r:gz") as tar:
        tar.extractall(workdir, filter="data")  # refuses absolute paths, '..' and device files
    return workdir


def verify_backup(directory: Path, *, postgres: bool | None = None) -> dict[str, Any]:
    """The manifest of a sound backup; ``postgres`` names the backend it must be of (None: either)."""
    manifest_file = directory / MANIFEST_NAME
    if postgres is None:
        postgres = (directory / PG_DB_NAME).is_file()
    name = PG_DB_NAME if postgres else DB_NAME
    other = DB_NAME if postgres else PG_DB_NAME
    if manifest_file.is_file() and (directory / other).is_file() and not (directory / name).is_file():
        raise OperationError(
            "this backup holds a PostgreSQL database and this site uses SQLite" if not postgres else
            "this backup holds a SQLite database and this site uses PostgreSQL; restore it on a SQLite"
            " site and run `citizenvoice migrate-to-postgres`")  # fmt: skip
    if not manifest_file.is_file() or not (directory / name).is_file():
        raise OperationError(f"{directory} has no {MANIFEST_NAME} and {name}: not a CitizenVoice backup")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    if manifest.get("format") != BACKUP_FORMAT:
        raise OperationError(f"unknown backup format: {manifest.get('format')!r}")
    if _sha256(directory / name) != manifest["database"]["sha256"]:
        raise OperationError("the database file does not match the manifest's checksum")
    if postgres:
        try:
            pgdump.verify(directory / name)
        except pgdump.DumpError:
            raise OperationError("the backup's database failed its integrity check") from None
        return manifest
    with database.sync_connection(directory / DB_NAME, readonly=True) as conn:
        problems = admin_store.integrity_problems(conn)
    if problems:
        raise OperationError("the backup's database failed its integrity check")
    return manifest


def restore_backup(settings: Settings, source: Path, *, force: bool) -> dict[str, Any]:
    """Put a backup in place of the configured database and media. Stop the server first."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = _unpack(source, Path(tmp))
        manifest = verify_backup(directory, postgres=bool(settings.database_url))
        if settings.database_url:
            _refuse_unless_forced_pg(settings, force)
            _pg(lambda: pgdump.restore(settings.database_url, directory / PG_DB_NAME))
        else:
            _refuse_unless_forced(settings.db_path, force)
            _restore_database(directory / DB_NAME, settings.db_path)
        moved = _restore_media(directory / MEDIA_NAME, settings.media_path)
    _pg(lambda: database.migrate(settings.database))  # a backup from an older release is brought up to date
    manifest["previous_media_moved_to"] = str(moved) if moved else None
    return manifest


def _refuse_unless_forced(db_path: Path, force: bool) -> None:
    if force or not db_path.exists():
        return
    with database.sync_connection(db_path) as conn:
        occupied = admin_store.holds_content(conn)
    if occupied:
        raise OperationError(f"{db_path} already holds essays or users; add --force to overwrite it")


def _refuse_unless_forced_pg(settings: Settings, force: bool) -> None:
    if force:
        return
    counts = _pg(lambda: pgdump.facts(settings.database_url)).table_counts
    if counts.get("essays") or counts.get("users"):
        raise OperationError(f"{_target(settings)} already holds essays or users; add --force to overwrite it")


def _restore_database(backup_db: Path, db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    src = database.connect_sync(backup_db, readonly=True)
    # Through the backup API rather than a file copy, so a leftover -wal file cannot resurrect old pages;
    # a plain connection, as the backup API needs, that leaves the copied pages' journal mode alone.
    dst = sqlite3.connect(db_path, timeout=database.BUSY_TIMEOUT_MS / 1000)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _restore_media(backup_media: Path, media_dir: Path) -> Path | None:
    """Replace the media directory; an existing one is moved aside, never deleted."""
    moved = None
    if media_dir.exists() and any(media_dir.iterdir()):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = media_dir.with_name(f"{media_dir.name}.before-restore-{stamp}")
        media_dir.rename(moved)
    elif media_dir.exists():
        media_dir.rmdir()
    if backup_media.is_dir():
        shutil.copytree(backup_media, media_dir)
    else:
        media_dir.mkdir(parents=True)
    return moved


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="a backup directory or .tar.gz written by `citizenvoice backup`")
    p.add_argument(
        "--force", action="store_true", help="overwrite a database that already holds essays or users"
    )


@command("restore", "restore a backup (stop the server first)", _restore_args)
def restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        manifest = restore_backup(settings, args.path, force=args.force)
    except OperationError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 2
    print(
        f"restored {_target(settings)} from the backup of {manifest['created_at']}"
        f" ({manifest['table_counts'].get('essays', 0)} essays, {len(manifest['media'])} media files)"
    )
    if manifest["previous_media_moved_to"]:
        print(f"the previous media directory was moved to {manifest['previous_media_moved_to']}")
    return 0


# ---------------------------------------------------------------------------------------------------
# check


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def run_checks(settings: Settings) -> CheckReport:
    report = CheckReport()
    if settings.database_url:
        return _run_checks_pg(settings, report)
    if not settings.db_path.exists():
        report.problems.append(f"no database at {settings.db_path} (run `citizenvoice migrate`)")
        return report
    # Not mode=ro: a WAL database cannot always be opened read-only while no server holds it open.
    with database.sync_connection(settings.db_path) as conn:
        report.problems += [f"integrity: {p}" for p in admin_store.integrity_problems(conn)]
        applied = admin_store.applied_migrations(conn)
        referenced = admin_store.referenced_media(conn)
    _check_migrations(report, applied)
    _check_media(report, settings.media_path, referenced)
    return report


def _run_checks_pg(settings: Settings, report: CheckReport) -> CheckReport:
    try:
        found = _pg(lambda: pgdump.facts(settings.database_url, more=admin_store.checked_facts))
    except OperationError as exc:
        report.problems.append(f"cannot read the database at {_target(settings)}: {exc}")
        return report
    if not found.migrations:
        report.problems.append(f"no database at {_target(settings)} (run `citizenvoice migrate`)")
        return report
    checked = found.extra or admin_store.CheckedFacts(set(), [])
    report.problems += [f"integrity: {p}" for p in [*found.problems, *checked.problems]]
    _check_migrations(report, found.migrations, database.PG_MIGRATIONS_DIR)
    _check_media(report, settings.media_path, checked.photos)
    return report


def _check_migrations(report: CheckReport, applied: list[str], directory: Path = database.MIGRATIONS_DIR) -> None:
    available = [m.name for m in database.available_migrations(directory)]
    pending = [name for name in available if name not in applied]
    unknown = [name for name in applied if name not in available]
    report.problems += [f"migration not applied: {name}" for name in pending]
    report.problems += [f"database has a migration this release does not know: {name}" for name in unknown]
    if not pending and not unknown:
        report.notes.append(f"migrations current ({len(applied)} applied)")


def _check_media(report: CheckReport, media_dir: Path, referenced: set[str]) -> None:
    present = {p.relative_to(media_dir).as_posix() for p in _media_files(media_dir)}
    report.problems += [
        f"orphaned media file (no essay refers to it): {p}" for p in sorted(present - referenced)
    ]
    report.problems += [f"photo missing from media: {p}" for p in sorted(referenced - present)]
    report.notes.append(f"{len(present)} media files, {len(referenced)} referenced")


@command("check", "check database integrity, migrations and media; non-zero exit on problems")
def check(args: argparse.Namespace, settings: Settings) -> int:
    report = run_checks(settings)
    for note in report.notes:
        print(f"ok: {note}")
    for problem in report.problems:
        print(f"problem: {problem}")
    print("all checks passed" if report.ok else f"{len(report.problems)} problem(s) found")
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------------------------------
# purge


@command("purge", "apply the retention rule to personal data (idempotent; safe to run from cron)")
def purge(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: database.Database) -> privacy.PurgeReport:
        async with db.read() as conn:
            city = (await sitesettings.load(conn, settings)).city
        return await privacy.purge(
            db, retention_days=settings.retention_days, media_dir=settings.media_path, city=city
        )

    report = run_async(settings, work)
    truncated = True  # PostgreSQL has no WAL file of ours to empty; VACUUM reclaims erased rows' space
    if not settings.database_url:
        with database.sync_connection(settings.db_path) as conn:
            truncated = admin_store.truncate_wal(conn)
    print(report.summary() + ("" if truncated else " (WAL busy; it is emptied on the next run)"))
    return 0


# ---------------------------------------------------------------------------------------------------
# authors' requests that arrive by phone or letter (the author has lost the tracking link)


def _code_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("code", help="the essay's tracking code, e.g. CV-AB3D-EF7H")


def _erase_args(p: argparse.ArgumentParser) -> None:
    _code_args(p)
    p.add_argument(
        "--keep-text",
        choices=sorted(privacy.KEEP_TEXT_CHOICES),
        required=True,
        help="anonymous: text stays with the byline {city}市民; remove: text taken down too",
    )


async def _essay_id(db: database.Database, raw_code: str) -> int | None:
    code = normalize_tracking_code(raw_code)
    async with db.read() as conn:
        essay = await essay_store.get_by_tracking_code(conn, code) if code else None
    if essay is None:
        print(f"no essay with tracking code {raw_code}", file=sys.stderr)
    return essay.id if essay else None


@command(
    "export",
    "print the author's copy of their essay's data as JSON (for a verified author's request)",
    _code_args,
)
def export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: database.Database) -> int:
        essay_id = await _essay_id(db, args.code)
        if essay_id is None:
            return 1
        async with db.read() as conn:
            document = await privacy.export_document(conn, essay_id, media_dir=settings.media_path)
        print(privacy.export_json(document))
        return 0

    return run_async(settings, work)


@command("erase", "erase one essay's personal data (for a verified author's request)", _erase_args)
def erase(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: database.Database) -> int:
        essay_id = await _essay_id(db, args.code)
        if essay_id is None:
            return 1
        async with db.write() as conn:
            city = (await sitesettings.load(conn, settings)).city
            await privacy.erase_for_author(
                conn, essay_id, args.keep_text, city=city, media_dir=settings.media_path
            )
            await admin_store.record_audit(
                conn,
                actor_id=None,
                actor_name="command line",
                action="privacy.erase",
                target=f"essay:{normalize_tracking_code(args.code)}",
                after={"keep_text": args.keep_text},
            )
        print(f"personal data of {normalize_tracking_code(args.code)} erased; text: {args.keep_text}")
        return 0

    return run_async(settings, work)
