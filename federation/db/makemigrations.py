"""Developer tool: write migrations for model changes (``make migrations``).

Runs tortoise's autodetector against a throw-away SQLite database migrated to the current
head, so the generated operations are dialect-neutral and apply to SQLite and PostgreSQL alike.
Review the generated file: model docstrings become SQL comments and must not contain ';'.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from tortoise.cli import cli as tortoise_cli

from federation.db import tortoise_config
from federation.db.lifecycle import migrate_database

#: The configuration tortoise's CLI reads (``-c federation.db.makemigrations.TORTOISE_ORM``).
TORTOISE_ORM: dict[str, Any] = {}


def main() -> int:
    global TORTOISE_ORM
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite://{Path(directory) / 'head.sqlite3'}"
        asyncio.run(migrate_database(url))
        TORTOISE_ORM = tortoise_config(url)
        sys.argv = ["tortoise", "-c", f"{__name__}.TORTOISE_ORM", "makemigrations", *sys.argv[1:]]
        tortoise_cli.main()
        return 0


if __name__ == "__main__":
    sys.exit(main())
