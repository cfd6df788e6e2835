"""Pseudonymisation of authors: a salted hash, so one author's posts stay linkable but not identifiable.

The salt comes from STANCE_AUTHOR_SALT; without it, a random salt is created once in a file readable by its
owner only and reused, so hashes stay stable across runs. For a SQLite database that file lies beside the
database (``stance.db.salt``), so one author gets one pseudonym in one database whichever folder a command
runs in; for other databases it is ``.stance-salt`` in the working directory (set STANCE_AUTHOR_SALT there).
An empty salt file, or one that others may read, is refused. The salt is never written to the database or to
logs.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

SALT_ENV = "STANCE_AUTHOR_SALT"
SALT_FILE = Path(".stance-salt")

#: Keys that identify a person in the platforms' payloads (X, Mastodon, Bluesky, Reddit, HN, feeds).
AUTHOR_KEYS = frozenset(
    {
        "author", "author_id", "author_hash", "username", "screen_name", "name", "display_name",
        "acct", "handle", "did", "user", "user_id", "by", "author_fullname", "author_detail",
        "in_reply_to_user_id", "in_reply_to_account_id", "email", "avatar", "note", "profile_image_url",
        "url_author", "creator", "actor", "displayName",
    }
)

#: Objects that describe a person as a whole (Mastodon ``account``, X ``author``, mentions): every value
#: inside them is identifying, including ids, profile URLs and avatars.
PERSON_OBJECTS = frozenset({"account", "author", "user", "actor", "creator", "mentions", "author_detail"})


def load_salt(environ: Mapping[str, str] | None = None, salt_file: Path = SALT_FILE) -> str:
    """The salt from STANCE_AUTHOR_SALT, else from ``salt_file`` (created with a random salt if absent).

    Raises ConfigError for an empty salt file or one that the group or others may read.
    """
    environ = os.environ if environ is None else environ
    if environ.get(SALT_ENV):
        return environ[SALT_ENV]
    if not salt_file.exists():
        legacy = SALT_FILE.resolve()
        if salt_file.resolve() != legacy and legacy.exists():
            # Keep the pseudonyms of a database made before the salt moved beside it.
            _write_private(salt_file, _read_salt(legacy))
        else:
            _write_private(salt_file, secrets.token_hex(32))
    return _read_salt(salt_file)


def salt_file_for(database_url: str) -> Path:
    """Where the salt of ``database_url`` lives: beside a SQLite file, else ``.stance-salt`` here."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:  # noqa: BLE001 - the database layer reports unparseable URLs
        return SALT_FILE
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return SALT_FILE
    database = Path(url.database)
    return database.with_name(database.name + ".salt")


def _read_salt(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path}: the author salt is readable by others (mode {stat.S_IMODE(mode):o}); "
                              f"run `chmod 600 {path}`")
        salt = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the author salt: {exc.strerror or exc}") from None
    if not salt:
        raise ConfigError(f"{path}: the author salt file is empty; restore it from a backup or set "
                          f"{SALT_ENV}")
    return salt


def _write_private(path: Path, salt: str) -> None:
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the author salt file: {exc.strerror or exc}") from None
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(salt)


def pseudonymise(author: str | None, source: str, salt: str) -> str | None:
    """Stable pseudonym for ``author`` on ``source``; None stays None."""
    if author is None or author == "":
        return None
    digest = hashlib.blake2b(f"{source}\x00{author}".encode(), key=salt.encode()[:64], digest_size=8)
    return "a_" + digest.hexdigest()


def scrub_raw(raw: Any, source: str, salt: str) -> Any:
    """A copy of ``raw`` with every scalar value under an author-identifying key pseudonymised."""
    if isinstance(raw, dict):
        scrubbed = {}
        for key, value in raw.items():
            if key in PERSON_OBJECTS and isinstance(value, (dict, list)):
                scrubbed[key] = _scrub_everything(value, source, salt)
            elif key in AUTHOR_KEYS and not isinstance(value, (dict, list)):
                scrubbed[key] = pseudonymise(None if value is None else str(value), source, salt)
            else:
                scrubbed[key] = scrub_raw(value, source, salt)
        return scrubbed
    if isinstance(raw, list):
        return [scrub_raw(item, source, salt) for item in raw]
    return raw


def _scrub_everything(value: Any, source: str, salt: str) -> Any:
    if isinstance(value, dict):
        return {key: _scrub_everything(item, source, salt) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_everything(item, source, salt) for item in value]
    if value is None or isinstance(value, bool):
        return value
    return pseudonymise(str(value), source, salt)


#: ``@name`` and ``@name@instance`` (Mastodon), not e-mail addresses.
_MENTION = re.compile(r"(?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.-]*(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?")
#: Profile paths inside URLs: ``/@name``, ``/users/name``, ``/u/name``, ``/user/name``, ``/profile/name``.
_PROFILE_PATH = re.compile(r"/(?:@[^/\s?#]+|(?:users|user|u|profile)/[^/\s?#]+)")

MENTION_MASK = "@user"


def mask_mentions(text: str) -> str:
    """``text`` with every @mention replaced by ``@user``."""
    return _MENTION.sub(MENTION_MASK, text)


def strip_people(raw: Any, mask: bool = False) -> Any:
    """A copy of ``raw`` without any key that identifies a person (aggregate-only storage), cleaned as
    ``clean_strings`` does."""
    if isinstance(raw, dict):
        return {key: strip_people(value, mask) for key, value in raw.items()
                if key not in AUTHOR_KEYS and key not in PERSON_OBJECTS}
    if isinstance(raw, list):
        return [strip_people(item, mask) for item in raw]
    return clean_strings(raw, mask)


def clean_strings(raw: Any, mask: bool = False) -> Any:
    """A copy of ``raw`` whose strings hold no profile path in a URL; with ``mask``, no @mention either."""
    if isinstance(raw, dict):
        return {key: clean_strings(value, mask) for key, value in raw.items()}
    if isinstance(raw, list):
        return [clean_strings(item, mask) for item in raw]
    if isinstance(raw, str):
        return handle_free(mask_mentions(raw) if mask else raw)
    return raw


def handle_free(value: str) -> str:
    """``value`` with profile paths in URLs (``/@name``, ``/users/name``) replaced by ``/_``."""
    if "/" not in value:
        return value
    return _PROFILE_PATH.sub("/_", value)
