"""The dashboard's tables (`ui_*`: users, sessions, API tokens), migration set "local_ui"."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("local_ui")


@migrations()
def m001_accounts(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE ui_users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
            password_source TEXT NOT NULL DEFAULT 'ui',
            created_ms INTEGER NOT NULL
        );
        CREATE TABLE ui_sessions (
            id_sha256 TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES ui_users (id) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            seen_ms INTEGER NOT NULL
        );
        CREATE TABLE ui_tokens (
            id INTEGER PRIMARY KEY,
            token_sha256 TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES ui_users (id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
            created_ms INTEGER NOT NULL,
            last_used_ms INTEGER
        );
        """
    )
