from monitor.ingest.privacy import load_salt, pseudonymise, scrub_raw


def test_pseudonym_is_stable_salted_and_per_source():
    assert pseudonymise("alice", "x", "s1") == pseudonymise("alice", "x", "s1")
    assert pseudonymise("alice", "x", "s1") != pseudonymise("alice", "x", "s2")
    assert pseudonymise("alice", "x", "s1") != pseudonymise("alice", "mastodon", "s1")
    assert pseudonymise(None, "x", "s") is None


def test_scrub_raw_hides_every_author_field_and_keeps_the_rest():
    raw = {
        "id": "1", "content": "<p>hi</p>",
        "account": {"id": "99", "acct": "alice@example.social", "url": "https://example.social/@alice",
                    "avatar_static": "https://example.social/a.png", "bot": False},
        "mentions": [{"acct": "bob", "url": "https://example.social/@bob"}],
        "post": {"author": {"handle": "carol.bsky.social", "displayName": "Carol"}},
        "username": "dave",
    }
    scrubbed = scrub_raw(raw, "mastodon", "salt")
    text = str(scrubbed)
    for identifying in ("alice", "bob", "carol", "Carol", "dave", "99"):
        assert identifying not in text
    assert scrubbed["id"] == "1" and scrubbed["content"] == "<p>hi</p>"
    assert scrubbed["account"]["bot"] is False
    assert raw["account"]["acct"] == "alice@example.social"  # the input is not mutated


def test_salt_from_environment_or_private_file(tmp_path):
    assert load_salt({"STANCE_AUTHOR_SALT": "env-salt"}, tmp_path / "salt") == "env-salt"
    first = load_salt({}, tmp_path / "salt")
    assert load_salt({}, tmp_path / "salt") == first and len(first) == 64
    assert (tmp_path / "salt").stat().st_mode & 0o077 == 0
