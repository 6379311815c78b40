"""Fixtures of the cloud API and sync tests: a throwaway PostgreSQL server."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on 127.0.0.1 for the session; yields a URL template with {db}."""
    from tests.support.cloud_servers import start_postgres

    yield from start_postgres()
