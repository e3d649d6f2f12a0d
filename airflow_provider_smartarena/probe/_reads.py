"""The probe's reads: GETs through the hook's public API, counted, with the server's clock kept.

Everything goes through :meth:`SmartArenaHook.request` (token, retries, TLS, error mapping, error
bodies in disguise) and :meth:`SmartArenaHook.new_token`; this module only keeps what the report
tells: how many requests were made, the last ``Date``, the rate-limit headers, and the texts to
redact.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks import Reply, SmartArenaHook


class Reads:
    """Token and GET calls through ``hook``, counting them and redacting its secrets.

    :param hook: the hook whose connection, session, retries and error mapping are used.
    """

    def __init__(self, hook: SmartArenaHook) -> None:
        self.hook = hook
        self.gets = 0
        self._tokens_before = hook.token_requests
        self.last_date: dt.datetime | None = None
        self.expires_in: float | None = None
        #: The last ``X-RateLimit-Limit`` / ``-Remaining`` (and a 429's ``Retry-After``) seen.
        self.rate_limit: dict[str, str] = {}
        self.throttled = 0
        self._lock = threading.Lock()

    @property
    def token_requests(self) -> int:
        """Token requests the hook made since this object was made (renewals included)."""
        return self.hook.token_requests - self._tokens_before

    def redact(self, text: str) -> str:
        """``text`` without any secret the hook knows (client secret, every token issued)."""
        return self.hook.scrub(text)

    @contextmanager
    def watching_responses(self) -> Iterator[None]:
        """While active, the rate-limit headers of every answer (429s included) are kept.

        A response hook on the hook's session (``get_conn``) sees the answers that the hook
        retries, which :meth:`SmartArenaHook.request` does not return.
        """
        session = self.hook.get_conn()

        def watch(response: Any, *args: Any, **kwargs: Any) -> None:
            headers = response.headers
            with self._lock:
                if response.status_code == 429:
                    self.throttled += 1
                    if headers.get("Retry-After"):
                        self.rate_limit["retry_after"] = str(headers["Retry-After"])
                for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining"):
                    if headers.get(name) is not None:
                        self.rate_limit[name.lower().replace("x-ratelimit-", "")] = str(headers[name])

        hooks = session.hooks.setdefault("response", [])
        hooks.append(watch)
        try:
            yield
        finally:
            hooks.remove(watch)

    def new_token(self) -> float | None:
        """Drop any cached token and fetch a new one; return its ``expires_in`` (None if absent)."""
        self.expires_in = self.hook.new_token()
        return self.expires_in

    def get(self, path: str, params: Mapping[str, Any]) -> Reply:
        """GET ``path`` with the hook's token, retries and error mapping; keep the ``Date`` header.

        A 2xx error body (``{"error": ...}``) raises, as the hook's own reads do.

        :raises SmartArenaError: the call failed (status and the server's message in the error).
        """
        with self._lock:
            self.gets += 1
        reply = self.hook.request("GET", path, params=dict(params))
        if reply.server_date is not None:
            self.last_date = reply.server_date
        return reply
