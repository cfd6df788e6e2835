"""Who may see and change what, and the headers every answer carries.

- Bound to a loopback address (the default), the dashboard answers only requests whose Host is a loopback
  name, so a web page elsewhere cannot reach it through DNS rebinding.
- Bound elsewhere, it needs ``STANCE_SERVE_TOKEN`` and asks for it on every page and API call.
- With a token set, even locally, the labelling page and every write need it.
- The token is given once on /login (never in a URL, which would land in logs and browser history); the
  browser then holds an HMAC of it in an HttpOnly, SameSite=Strict cookie. API clients send
  ``Authorization: Bearer <token>``.
- Every POST carries a CSRF token equal to its cookie (double submit) and, when the browser says where it
  comes from, an Origin of this very server.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from starlette.requests import Request

SESSION_COOKIE = "stance_session"
CSRF_COOKIE = "stance_csrf"
CSRF_FIELD = "csrf"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: Scripts, styles and data only from this server: post text can never bring code along.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Links to posts leave the dashboard; its URL (with the filters) stays here.
    "Referrer-Policy": "no-referrer",
}


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host of a Host header without its port ("[::1]:8050" -> "::1")."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True)
class Access:
    token: str | None = None
    #: Bound to a non-loopback address: every request needs the token.
    public: bool = False

    def __post_init__(self) -> None:
        if self.public and not self.token:
            raise ValueError("serving beyond this machine needs a token (STANCE_SERVE_TOKEN)")

    def session_value(self) -> str:
        """What the session cookie holds: derived from the token, so the token itself never leaves /login."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"stance-serve-session", hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        if not self.token:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())

    def authenticated(self, request: Request) -> bool:
        if not self.token:
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and self.token_matches(header[7:].strip()):
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session_value().encode())

    def needs_token(self, request: Request) -> bool:
        """Whether this request must be authenticated."""
        if not self.token:
            return False
        path = request.url.path
        if path == "/login" or path.startswith("/static/"):
            return False
        if self.public:
            return True
        return path == "/label" or path.startswith("/label/") or request.method not in ("GET", "HEAD")

    def host_allowed(self, request: Request) -> bool:
        return self.public or is_loopback(host_name(request.headers.get("host", "")))


def csrf_value(request: Request) -> tuple[str, bool]:
    """This browser's CSRF token and whether it is new (then the answer must set its cookie)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if len(existing) >= 32:
        return existing, False
    return secrets.token_urlsafe(32), True


def csrf_problem(request: Request, form_value: str | None) -> str | None:
    """Why a POST fails the CSRF check, or None when it passes."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not form_value or not hmac.compare_digest(cookie.encode(), form_value.encode()):
        return "the form's CSRF token is missing or stale; reload the page and try again"
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin != own:
            return "the form was sent from another site"
    return None


def safe_next(target: str | None) -> str:
    """A local path to go back to after /login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/overview"
    return target
