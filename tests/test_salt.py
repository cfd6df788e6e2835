"""The author salt: kept with the database, refused when empty or readable by others."""

import json
import os

import pytest
from sqlalchemy import create_engine, select

from monitor.errors import ConfigError
from monitor.ingest.privacy import load_salt, salt_file_for
from storage.models import Post
from tests_support import stance

ROW = {"id": "1", "text": "open weights", "created_at": "2025-05-01T00:00:00Z", "author": "alice"}


@pytest.fixture
def no_env_salt(monkeypatch):
    monkeypatch.delenv("STANCE_AUTHOR_SALT", raising=False)
    monkeypatch.delenv("STANCE_DATABASE_URL", raising=False)


def authors(database):
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        found = dict(conn.execute(select(Post.source_id, Post.author)).all())
    engine.dispose()
    return found


def test_one_author_gets_one_pseudonym_in_one_database_from_any_folder(tmp_path, monkeypatch, capsys,
                                                                       no_env_salt):
    database = tmp_path / "data" / "stance.db"
    database.parent.mkdir()
    monkeypatch.setenv("STANCE_DATABASE_URL", f"sqlite:///{database}")
    for number, folder in enumerate(("one", "two")):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        (tmp_path / folder / "posts.jsonl").write_text(json.dumps({**ROW, "id": str(number)}))
        code, _, err = stance(capsys, "import", "posts.jsonl")
        assert code == 0, err
        assert not (tmp_path / folder / ".stance-salt").exists()

    pseudonyms = authors(database)
    assert pseudonyms["0"] == pseudonyms["1"] and pseudonyms["0"].startswith("a_")
    salt_file = database.with_name("stance.db.salt")
    assert salt_file.exists() and oct(salt_file.stat().st_mode & 0o777) == "0o600"


def test_an_empty_salt_file_is_refused_in_one_line(tmp_path, monkeypatch, capsys, no_env_salt):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stance.db.salt").write_text("  \n")
    os.chmod(tmp_path / "stance.db.salt", 0o600)
    (tmp_path / "posts.jsonl").write_text(json.dumps(ROW))

    code, _, err = stance(capsys, "import", "posts.jsonl")

    assert code == 1
    assert "salt file is empty" in err and len(err.strip().splitlines()) == 1


def test_a_salt_file_others_may_read_is_refused(tmp_path, no_env_salt):
    salt_file = tmp_path / "salt"
    salt_file.write_text("secret-salt-value")
    os.chmod(salt_file, 0o644)
    with pytest.raises(ConfigError, match="readable by others") as failure:
        load_salt({}, salt_file)
    assert "secret-salt-value" not in str(failure.value)
    os.chmod(salt_file, 0o600)
    assert load_salt({}, salt_file) == "secret-salt-value"


def test_an_existing_local_salt_moves_beside_the_database(tmp_path, monkeypatch, no_env_salt):
    monkeypatch.chdir(tmp_path)
    legacy = tmp_path / ".stance-salt"
    legacy.write_text("old-salt")
    os.chmod(legacy, 0o600)
    target = salt_file_for(f"sqlite:///{tmp_path / 'db' / 'stance.db'}")
    target.parent.mkdir()
    assert load_salt({}, target) == "old-salt" and target.read_text() == "old-salt"
    assert salt_file_for("postgresql://u@h/db").name == ".stance-salt"
