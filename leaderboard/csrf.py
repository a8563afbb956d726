"""CSRF protection for the HTML form: a signed double-submit token.

GET /submit gives the browser a random cookie (HttpOnly, SameSite=Strict) and puts
HMAC(key, cookie) in a hidden field of the form; POST /submit must bring both, matching.
Another site can make a browser post the form, but can neither read the cookie nor compute
the HMAC, and SameSite=Strict keeps the cookie off cross-site requests in the first place.
The key is random per server process, so a form served before a restart must be reloaded.
The JSON API needs none of this: a browser never sends its bearer token on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "actgym_csrf"
FIELD = "csrf_token"
REFUSED = (
    "The form's security token is missing or does not match this browser's cookie: "
    "reload the form and submit again (cookies must be enabled for this site)."
)
_COOKIE_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")


class CsrfGuard:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def session(self, cookie: str | None) -> tuple[str, str]:
        """The browser's cookie (kept if well-formed, else a fresh one) and its form token."""
        if cookie is None or not _COOKIE_FORMAT.fullmatch(cookie):
            cookie = secrets.token_urlsafe(32)
        return cookie, self._sign(cookie)

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self._sign(cookie).encode(), token.encode(errors="replace"))

    def _sign(self, cookie: str) -> str:
        return hmac.new(self._key, cookie.encode(), hashlib.sha256).hexdigest()
