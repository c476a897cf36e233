"""Fixtures of the dialer tests: a fresh database per test, on SQLite and on PostgreSQL.

PostgreSQL is the one `scripts/test` runs (DIALOUT_TEST_PG_URL); each test gets its own
database, made and dropped with psql.
"""
import gc
import os
import shutil
import subprocess
import uuid

import pytest

PG_URL = os.environ.get("DIALOUT_TEST_PG_URL")


def _psql(sql):
    if not PG_URL:
        pytest.fail("DIALOUT_TEST_PG_URL is not set: run through ./scripts/test, or export "
                    "DIALOUT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres")
    if shutil.which("psql") is None:
        pytest.fail("psql is missing: install the PostgreSQL client (apt-get install postgresql-client)")
    subprocess.run(["psql", PG_URL, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def _pg_database():
    name = "dialout_py_" + uuid.uuid4().hex[:16]
    _psql("CREATE DATABASE %s" % name)
    base, _, _ = PG_URL.rpartition("/")
    return name, "%s/%s" % (base, name)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """The URL of a new, empty database of each kind."""
    if request.param == "sqlite":
        yield "sqlite://%s" % (tmp_path / "dialout.db")
        return
    name, url = _pg_database()
    yield url
    gc.collect()  # the test's dialers close their connections
    _psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No DIALOUT_* variable and an empty current directory: the defaults apply."""
    for k in list(os.environ):
        if k.startswith("DIALOUT_") and k != "DIALOUT_TEST_PG_URL":
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def dialer(db_url, clean_env):
    import dialout

    return dialout.Dialer(db_url)
