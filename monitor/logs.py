"""Logging as text or JSON lines. Secrets never reach a log: collectors never log credentials, and the
filter below masks anything that looks like a bearer token or password that slips into a message."""

from __future__ import annotations

import json
import logging
import re

_SECRET = re.compile(r"(?i)(bearer\s+|token=|password=|secret=|authorization:\s*)([^\s&'\"]+)")


def redact(text: str) -> str:
    """``text`` with anything that looks like a bearer token, password or secret masked."""
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


#: Client libraries that log whole requests and responses (bodies with user names, headers) at DEBUG.
#: They stay at INFO even with --verbose.
CHATTY_LIBRARIES = ("tweepy", "urllib3", "requests_oauthlib", "oauthlib", "prawcore", "praw", "httpx",
                    "httpcore", "atproto", "atproto_client", "mastodon", "websockets", "feedparser")


def configure_logging(fmt: str = "text", level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
