from datetime import UTC, datetime

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


def test_mask_mentions_masks_accounts_not_addresses():
    from monitor.ingest.privacy import handle_free, mask_mentions

    text = "@sama and @alice@mastodon.social on gpt-oss; mail me at a@b.org"
    assert mask_mentions(text) == "@user and @user on gpt-oss; mail me at a@b.org"
    assert handle_free("https://chaos.social/@bob/1 and https://h.example/users/bob/statuses/2") == (
        "https://chaos.social/_/1 and https://h.example/_/statuses/2")


def test_mask_mentions_setting_masks_stored_text_and_raw(sessions):
    from dataclasses import replace as with_changes

    from classifiers.language import LanguageDetector
    from monitor.ingest.pipeline import IngestContext, ingest
    from monitor.ingest.records import PostRecord
    from storage.models import Post

    context = IngestContext(topic="t", detector=LanguageDetector(), salt="s", mask_mentions=True)
    record = PostRecord(source="mastodon", source_id="1", text="@someone says gpt-oss is great",
                        created_at=datetime(2025, 8, 5, tzinfo=UTC), raw={"content": "@someone says"})
    with sessions.begin() as session:
        (post_id,) = ingest(session, [record], context)
        post = session.get(Post, post_id)
        assert post.text == "@user says gpt-oss is great" and "someone" not in str(post.raw)
    with sessions.begin() as session:
        (post_id,) = ingest(session, [with_changes(record, source_id="2")],
                            with_changes(context, mask_mentions=False))
        assert session.get(Post, post_id).text.startswith("@someone")
