"""Dialer() opens what the CLI opens: ./dialout.db, dialout.toml, DIALOUT_* and arguments."""
import subprocess
import sys

import pytest

import dialout


def test_default_is_dialout_db_in_the_current_directory(clean_env):
    d = dialout.Dialer()
    d.send("+420777123456", "Default database")
    assert (clean_env / "dialout.db").exists()
    assert "sqlite://dialout.db" in repr(d)


def test_environment_then_config_file_then_argument(clean_env, monkeypatch):
    env_db = clean_env / "env.db"
    monkeypatch.setenv("DIALOUT_DATABASE_URL", "sqlite://%s" % env_db)
    dialout.Dialer().send("+420777123456", "From the environment")
    assert env_db.exists()
    monkeypatch.delenv("DIALOUT_DATABASE_URL")

    toml_db = clean_env / "toml.db"
    conf = clean_env / "custom.toml"
    conf.write_text('database_url = "sqlite://%s"\ndefault_region = "CZ"\n' % toml_db)
    m = dialout.Dialer(config=conf).send("777 123 456", "National number, region from the file")
    assert m.recipient == "+420777123456" and toml_db.exists()

    monkeypatch.setenv("DIALOUT_CONFIG", str(conf))
    arg_db = clean_env / "arg.db"
    d = dialout.Dialer("sqlite://%s" % arg_db)
    d.send("777 123 456", "Region from DIALOUT_CONFIG, database from the argument")
    assert arg_db.exists()
    assert sum(len(p) for p in dialout.Dialer(config=conf).messages()) == 1

    (clean_env / "dialout.toml").write_text('database_url = "sqlite://%s"\n' % toml_db)
    monkeypatch.delenv("DIALOUT_CONFIG")
    assert sum(len(p) for p in dialout.Dialer().messages()) == 1


def test_bad_configuration_is_invalid_input(clean_env):
    bad = clean_env / "bad.toml"
    bad.write_text("no_such_key = 1\n")
    with pytest.raises(dialout.InvalidInput) as e:
        dialout.Dialer(config=bad)
    assert e.value.field == "config" and "no_such_key" in str(e.value)
    with pytest.raises(dialout.InvalidInput) as e:
        dialout.Dialer("mysql://nowhere/x")
    assert e.value.field == "database_url"
    with pytest.raises(dialout.InvalidInput) as e:
        dialout.Dialer(config=clean_env / "missing.toml")
    assert e.value.field == "config"


def test_postgres_password_is_not_in_repr(clean_env, db_url):
    if not db_url.startswith("postgres"):
        assert repr(dialout.Dialer(db_url)).startswith("<Dialer sqlite://")
        return
    base = db_url.replace("postgres://postgres@", "postgres://postgres:s3cret@")
    assert "s3cret" not in repr(dialout.Dialer(base))


def test_import_needs_no_django():
    code = ("import sys; sys.modules['django'] = None; import dialout; "
            "assert 'django' not in [m for m in sys.modules if sys.modules[m] is not None]; "
            "print(dialout.State.DEBUG.value)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "77"
