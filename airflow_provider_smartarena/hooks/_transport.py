"""The hook's transport: one HTTP exchange with token, pacing, retries, body limits and error mapping.

Beneath :class:`~airflow_provider_smartarena.hooks.smartarena.SmartArenaHook`'s typed calls, as
``HttpHook.run()`` sits beneath the HTTP operator. Its public face is
:meth:`SmartArenaHook.request() <airflow_provider_smartarena.hooks.smartarena.SmartArenaHook.request>`,
which returns a :class:`Reply`. Here:

* the pooled session (no ``.netrc``, the environment's proxies read once), on whose pools
  ``_wire`` sends each exchange without requests' per-call machinery;
* the OAuth2 token request (``TokenManager`` renews; :meth:`Transport.fetch_token` asks);
* :meth:`Transport.send` — one call: pacing, the bearer token, the body read within
  ``max_response_bytes`` and ``timeout`` (``_body``), retries with backoff or ``Retry-After``
  within ``max_retry_wait`` (``_retry``), a 401 renewing the token once, the mapping of an answer
  to a result or a provider error (``_http``), the settling of a write whose first attempt may
  have reached the server, and the scrubbing of every secret from errors (``_secrets``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeVar

import requests
import urllib3
from airflow.providers.common.compat.sdk import mask_secret
from requests.adapters import HTTPAdapter

from airflow_provider_smartarena import __version__
from airflow_provider_smartarena.exceptions import (
    SmartArenaAuthError,
    SmartArenaConnectionError,
    SmartArenaError,
    SmartArenaForbiddenError,
    SmartArenaResponseError,
    SmartArenaTLSError,
    SmartArenaValidationError,
)
from airflow_provider_smartarena.hooks import _http
from airflow_provider_smartarena.hooks._body import read_body
from airflow_provider_smartarena.hooks._config import ConnectionSettings
from airflow_provider_smartarena.hooks._pacer import Pacer
from airflow_provider_smartarena.hooks._retry import (
    RetryPolicy,
    is_retryable_status,
    parse_http_date,
    parse_retry_after,
)
from airflow_provider_smartarena.hooks._secrets import Scrubber, secrets_in
from airflow_provider_smartarena.hooks._token import TokenManager
from airflow_provider_smartarena.hooks._wire import Wire, encode_body

#: Told with every TLS failure, so that a failed task says how to fix it as test_connection() does.
TLS_FIX_HINT = (
    "If the server uses a private CA, set the connection's verify_ssl extra to its CA bundle path "
    "(verify_ssl=false turns verification off, which is unsafe)"
)
TOKEN_PATH = "/oauth/access_token"
_USER_AGENT = f"airflow-provider-smartarena/{__version__} python-requests/{requests.__version__}"

T = TypeVar("T")
Settle = Callable[[SmartArenaError], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One call, as each attempt of it is sent (see :meth:`Transport.send`).

    :param settle: decides the outcome of an error response that follows an attempt which may
        have reached the server (see ``SmartArenaHook.create_record``).
    :param decode: decodes a successful body its own way; when it returns None, the body is
        decoded as JSON as usual.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json_body: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    authenticated: bool = True
    settle: Settle | None = None
    decode: Callable[[bytes], Any] | None = None

    def secrets(self) -> list[str]:
        """The secrets the call sends in its body (kept out of its errors)."""
        return secrets_in(self.json_body, self.form)


@dataclass(frozen=True)
class Reply:
    """One answer of ``SmartArenaHook.request()``.

    :param status: the HTTP status of the answer (2xx: errors are raised, not returned).
    :param body: the parsed JSON body (``{}`` for an empty body).
    :param headers: the answer's headers (case-insensitive lookup).
    :param server_date: the server's clock from its ``Date`` header (aware UTC), or None.
    :param url: the URL that answered, query string included (it holds no secret: the token
        travels in a header).
    """

    status: int
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    server_date: dt.datetime | None
    url: str


class TransportOwner(Protocol):
    """What the transport reads of its hook (settings are read lazily, on first use)."""

    @property
    def settings(self) -> ConnectionSettings: ...

    @property
    def retry_policy(self) -> RetryPolicy: ...

    @property
    def log(self) -> Any: ...

    pool_maxsize: int


class Transport:
    """The HTTP exchanges of one hook; safe to share between threads.

    :param owner: the hook (its settings, retry policy, pool size and logger).
    :param rate_limit_window: the period the server's ``X-RateLimit-Limit`` counts over, seconds.
    """

    def __init__(self, owner: TransportOwner, *, rate_limit_window: float = 60.0) -> None:
        self._owner = owner
        self._rate_limit_window = rate_limit_window
        self._wire: Wire | None = None
        self._session_lock = threading.Lock()
        self.tokens = TokenManager(self.fetch_token)
        #: Token requests made (each :meth:`fetch_token`, failed ones included); TokenManager
        #: calls it under its lock, so one thread at a time counts.
        self.token_requests = 0
        #: Every secret sent or received (client secret, tokens), kept out of errors built from answers.
        self.scrubber = Scrubber()
        #: (time.monotonic(), raw Date header) of the latest response that carried one.
        self.last_date: tuple[float, str] | None = None

    @property
    def settings(self) -> ConnectionSettings:
        return self._owner.settings

    @cached_property
    def pacer(self) -> Pacer:
        """Spacing of requests by ``max_requests_per_minute`` and the server's rate-limit headers."""
        return Pacer(self.settings.max_requests_per_minute, self._rate_limit_window)

    def request(self, call: Call, *, error_body: bool = True) -> Reply:
        """Send one call (see ``SmartArenaHook.request``) and return its :class:`Reply`."""
        with self.guard(call.method, call.path, call.secrets()):
            body, response = self._exchange(call)
            if error_body and _http.looks_like_error(body):
                raise _http.disguised_error(body, call.method, call.path)
        return Reply(
            status=response.status_code,
            body=body,
            headers=response.headers,
            server_date=parse_http_date(response.headers.get("Date")),
            url=response.url,
        )

    def get_conn(self) -> requests.Session:
        """Return the hook's one pooled, configured session, creating it on first use.

        :raises SmartArenaConfigError: the connection is unusable (e.g. ``http://`` to a remote host).
        """
        return self._get_wire().session

    def _get_wire(self) -> Wire:
        """The sender on the hook's session (the two are created, and closed, together)."""
        wire = self._wire
        if wire is None:
            with self._session_lock:
                if self._wire is None:
                    session, adapter = self._new_session()
                    self._wire = Wire(session, adapter, self.settings.base_url)
                wire = self._wire
        return wire

    def _new_session(self) -> tuple[requests.Session, HTTPAdapter]:
        settings = self.settings
        session = requests.Session()
        # Retries are ours (with backoff and logging), so urllib3 must not add its own.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self._owner.pool_maxsize, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.verify = settings.verify
        # Only encodings the body reader inflates within the size cap (no brotli/zstd surprises).
        session.headers.update(
            {"Accept": "application/json", "Accept-Encoding": "gzip, deflate", "User-Agent": _USER_AGENT}
        )
        # The environment (proxies, CA bundle) is read once, for the one host this hook calls:
        # requests would re-read it, .netrc included, on every request, and a .netrc entry for the
        # host would replace the bearer token with Basic auth.
        session.trust_env = False
        session.proxies.update(requests.utils.get_environ_proxies(settings.base_url))
        return session, adapter

    @cached_property
    def verify(self) -> bool | str:
        """``verify`` as requests would resolve it from the environment: a CA bundle named by
        ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` applies unless the connection sets its own."""
        verify = self.settings.verify
        if verify is True:
            return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        return verify

    def close(self) -> None:
        """Close the session's pooled connections; the hook creates a new session if used again."""
        with self._session_lock:
            wire, self._wire = self._wire, None
        if wire is not None:
            wire.session.close()

    def fetch_token(self) -> tuple[str, float | None]:
        """POST the client credentials (form-encoded) and return ``(token, expires_in)``."""
        self.token_requests += 1
        settings = self.settings
        form = {
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "grant_type": "client_credentials",
        }
        try:
            body, _ = self.send(Call("POST", TOKEN_PATH, form=form, authenticated=False))
        except (
            SmartArenaAuthError,
            SmartArenaForbiddenError,
            SmartArenaValidationError,
            SmartArenaResponseError,
        ) as err:
            if err.status in (400, 401, 403, 422):
                raise SmartArenaAuthError(
                    f"the client credentials were refused: {err.message}",
                    method="POST",
                    path=TOKEN_PATH,
                    status=err.status,
                ) from None
            raise
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SmartArenaResponseError(
                "the token response has no access_token", method="POST", path=TOKEN_PATH
            )
        mask_secret(token)
        self.scrubber.add(token)
        if not (token.isascii() and token.isprintable()) or " " in token:
            # It could only be sent as a broken or injected header; said here, and not echoed.
            raise SmartArenaResponseError(
                "the token response's access_token is not usable as a bearer token (it holds spaces, "
                "control or non-ASCII characters)",
                method="POST",
                path=TOKEN_PATH,
            )
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else None
        self._owner.log.debug("Obtained an access token valid for %s s", lifetime)
        return token, lifetime

    def send(self, call: Call) -> tuple[Any, str | None]:
        """Send one call with retries; return its parsed body and ``Date`` header."""
        with self.guard(call.method, call.path, call.secrets()):
            body, response = self._exchange(call)
        return body, response.headers.get("Date")

    @contextlib.contextmanager
    def guard(self, method: str, path: str, secrets: Iterable[str] = ()) -> Iterator[None]:
        """Make every failure inside a provider error free of secrets.

        Provider errors are scrubbed of every secret of the hook and ``secrets``; any other
        exception (deep JSON, an odd header, a shape nothing expected) was caused by what the
        server sent, and becomes a :class:`SmartArenaResponseError` naming the call.
        """
        try:
            yield
        except SmartArenaError as err:
            self.scrubber.clean(err, secrets)
            raise
        except Exception as err:
            error = SmartArenaResponseError(
                f"the answer could not be handled ({type(err).__name__}: {err})"[:300],
                method=method,
                path=path,
            )
            raise self.scrubber.clean(error, secrets) from None

    def guarded(self, fetch: Callable[..., T], method: str, path: str) -> Callable[..., T]:
        """``fetch`` with :meth:`guard` around each call (the pages' own checks build errors too)."""

        @functools.wraps(fetch)
        def guarded(*args: Any, **kwargs: Any) -> T:
            with self.guard(method, path):
                return fetch(*args, **kwargs)

        return guarded

    def _exchange(self, call: Call) -> tuple[Any, requests.Response]:
        method, path = call.method, call.path
        wire = self._get_wire()
        settings = self.settings
        # Encoded once for every attempt; bad JSON is the caller's, refused before any request.
        body, content_type = encode_body(call.json_body, call.form)
        verify = self.verify
        policy = self._owner.retry_policy
        retry = 0
        renewed = uncertain = False
        while True:
            token = self.tokens.get() if call.authenticated else None
            headers = {"Authorization": f"Bearer {token}"} if token else None
            self.pacer.wait()
            started = time.perf_counter()
            started_mono = time.monotonic()
            try:
                response = wire.send(
                    method,
                    path,
                    params=call.params,
                    body=body,
                    content_type=content_type,
                    headers=headers,
                    timeout=settings.timeout,
                    verify=verify,
                )
                # What Response.content does after reading; done here so every later use sees it.
                response._content = read_body(
                    response,
                    limit=settings.max_response_bytes,
                    deadline=started_mono + settings.timeout,
                    timeout=settings.timeout,
                    method=method,
                    path=path,
                )
                response._content_consumed = True  # type: ignore[attr-defined]
            except requests.exceptions.SSLError as err:
                raise SmartArenaTLSError(
                    f"{_reason(err)}. {TLS_FIX_HINT}", method=method, path=path
                ) from None
            except requests.exceptions.RequestException as err:
                self.pacer.observe({})  # no answer, but no longer on its way against the quota
                uncertain = uncertain or _may_have_reached_server(err)
                if retry < policy.max_retries:
                    self._pause(method, path, retry, policy, policy.backoff_wait(retry), _reason(err))
                    retry += 1
                    continue
                raise _network_error(err, method, path, retry + 1) from None
            status = response.status_code
            retry_after = self._retry_after(response) if is_retryable_status(status) else None
            self.pacer.observe(response.headers, retry_after)
            self._owner.log.debug(
                "%s %s -> %s in %.0f ms", method, path, status, (time.perf_counter() - started) * 1000
            )
            date = response.headers.get("Date")
            if date:  # parsed only when asked for: server_now() is rare, responses are many
                self.last_date = (time.monotonic(), date)
            if status == 401 and token and not renewed:
                # Expired or revoked early: renew once (one thread does it) and resend.
                self.tokens.invalidate(token)
                renewed = True
                continue
            hint = None
            if is_retryable_status(status):
                uncertain = uncertain or status != 429  # a 429 is refused before any work is done
                cap = settings.max_retry_wait
                if retry_after is not None and retry_after > cap:
                    # Sleeping less than asked would only earn another refusal.
                    hint = (
                        f"the server asked to wait {retry_after:g} s (Retry-After), more than "
                        f"max_retry_wait={cap:g} s; raise the connection extra or hook argument "
                        "max_retry_wait to wait that long"
                    )
                elif retry < policy.max_retries:
                    wait = policy.wait(retry, retry_after)
                    self._pause(method, path, retry, policy, wait, f"HTTP {status}")
                    retry += 1
                    continue
            if status >= 300:
                error = _http.error_for(response, method, path, retry_after=retry_after, hint=hint)
                if uncertain and call.settle is not None:
                    return call.settle(error), response
                raise error
            if call.decode is not None:
                decoded = call.decode(response.content)
                if decoded is not None:
                    return decoded, response
            return _http.decode_json(response, method, path), response

    def _retry_after(self, response: requests.Response) -> float | None:
        now = parse_http_date(response.headers.get("Date")) or dt.datetime.now(dt.UTC)
        return parse_retry_after(response.headers.get("Retry-After"), now)

    def _pause(
        self, method: str, path: str, retry: int, policy: RetryPolicy, wait: float, reason: str
    ) -> None:
        self._owner.log.info(
            "Smart ARENA %s %s failed (%s); retry %d of %d in %.2f s",
            method,
            path,
            reason,
            retry + 1,
            policy.max_retries,
            wait,
        )
        time.sleep(wait)


def _innermost(err: BaseException) -> BaseException:
    """Follow urllib3's wrapping (``reason``, exceptions among ``args``) down to the root cause."""
    seen: set[int] = set()
    while id(err) not in seen:
        seen.add(id(err))
        inner = getattr(err, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in reversed(err.args) if isinstance(a, BaseException)), None)
        if inner is None:
            break
        err = inner
    return err


def _reason(err: BaseException) -> str:
    """A short cause such as ``[Errno 111] Connection refused``, without URLs or object reprs."""
    text = str(_innermost(err))
    if text.startswith("<") and ">: " in text:  # "<urllib3...Connection object at 0x..>: Failed to ..."
        text = text.split(">: ", 1)[1]
    if "Caused by" in text or "url:" in text:
        text = type(_innermost(err)).__name__
    return text or type(err).__name__


def _may_have_reached_server(err: requests.exceptions.RequestException) -> bool:
    """False only when the request certainly never left: the connection was never established."""
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return False
    return not isinstance(_innermost(err), urllib3.exceptions.NewConnectionError)


def _network_error(
    err: requests.exceptions.RequestException, method: str, path: str, attempts: int
) -> SmartArenaError:
    reason = f"{_reason(err)} (after {attempts} attempt{'s' if attempts > 1 else ''})"
    if isinstance(err, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return SmartArenaResponseError(
            f"the response body was cut short or corrupt: {reason}", method=method, path=path
        )
    return SmartArenaConnectionError(reason, method=method, path=path)
