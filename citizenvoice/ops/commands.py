"""The registry of ``citizenvoice`` sub-commands, and how a command reaches the database.

Modules that own an idea (backup, demo, purge, the queue report…) register their commands here;
cli.py imports them and builds the parser. Nothing here imports cli.py, so there is no circle.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from citizenvoice import db as database
from citizenvoice.settings import Settings

CLI_ACTOR = "command line"  # the audit trail's name for whoever runs the command

Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a sub-command; modules that own an idea (backup, demo, purge…) add their own."""

    def register(func: Command) -> Command:
        COMMANDS[name] = (func, arguments, help)
        return func

    return register


def run_async(settings: Settings, work: Callable[[database.Database], Any]) -> Any:
    """Run ``work(db)`` against a migrated, open database."""

    async def main() -> Any:
        database.migrate(settings.database)
        db = database.open_database(settings, readers=1)
        await db.open()
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())
