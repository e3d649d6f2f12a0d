"""One HTTP exchange on the session's own connection pools, without requests' per-call machinery.

``Session.request`` merges settings, cookies and hooks, prepares the URL through a full parse and
builds the response through the cookie jar on every call: about as much CPU again as urllib3's own
exchange (some 500 µs of a 1,100 µs page request, measured against the sandbox). Most of it
serves nothing here: the hook calls one host, with settings read once. :class:`Wire` sends on the
pool the session's adapter keeps, so that the adapter still decides TLS (verification, CA bundles)
and proxies (tunnels, proxy credentials), and hands back a :class:`requests.Response` raising
requests' exceptions, so that everything above it is unchanged.

A session that was customised beyond what this layer reproduces — an adapter mounted in place of
the hook's own, ``auth``, cookies — is sent through ``Session.request`` as before, so that
``get_conn()`` keeps working as the requests session it is. Response hooks are honoured on both
paths.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, cast

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.hooks import dispatch_hook
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, requote_uri

from airflow_provider_smartarena.exceptions import SmartArenaInputError

#: requests' own encoder of parameters and forms (a static method its stubs do not declare).
_encode_params: Callable[[Any], str] = RequestEncodingMixin._encode_params  # type: ignore[attr-defined]
#: Methods requests sends without a Content-Length when they have no body.
_NO_LENGTH_METHODS = frozenset({"GET", "HEAD"})


@functools.lru_cache(maxsize=512)
def _requoted(path: str) -> str:
    # Paths repeat (every page of an endpoint); requests requotes the whole URL on every call.
    return requote_uri(path)


def encode_body(
    json_body: Mapping[str, Any] | None, form: Mapping[str, Any] | None
) -> tuple[bytes | None, str | None]:
    """The body and its ``Content-Type`` as requests would send them (``json`` wins over ``form``).

    :raises SmartArenaInputError: ``json`` holds what JSON cannot carry: NaN, an infinity, an
        object of no JSON type (requests raised a network-looking error for the first, which the
        retries retried, and a bare ``TypeError`` for the last).
    """
    if json_body is not None:
        try:
            text = json.dumps(json_body, allow_nan=False)
        except (ValueError, TypeError) as err:
            raise SmartArenaInputError(
                "json", str(err)[:200], "JSON values: text, finite numbers, true/false, null, lists, objects"
            ) from None
        return text.encode("utf-8"), "application/json"
    if form is not None:
        return _encode_params(form).encode("utf-8"), "application/x-www-form-urlencoded"
    return None, None


class Wire:
    """Sends exchanges for one base URL on ``session``; safe to share between threads.

    :param session: the hook's session; ``adapter`` must be mounted on it for the base URL.
    :param adapter: the adapter the hook mounted; another one found there means a customised session.
    :param base_url: the connection's base URL, without a trailing slash.
    """

    def __init__(self, session: requests.Session, adapter: HTTPAdapter, base_url: str) -> None:
        self.session = session
        self._adapter = adapter
        # The pool, the TLS settings and the request target depend on the host only: one prepared
        # request of the base URL stands for every call (requests also IDNA-encodes the host here).
        self._template = requests.PreparedRequest()
        self._template.prepare(method="GET", url=base_url + "/")
        self._origin = (self._template.url or "")[:-1]

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        timeout: float,
        verify: bool | str,
    ) -> requests.Response:
        """Send one request, the body unread (``stream=True``), redirects not followed.

        :raises requests.exceptions.RequestException: as ``Session.request`` raises them.
        """
        session = self.session
        query = _encode_params(params) if params else ""
        tail = _requoted(path)
        if query:
            tail += ("&" if "?" in tail else "?") + query
        url = self._origin + tail
        extra = dict(headers or {})
        if content_type is not None:
            extra["Content-Type"] = content_type
        if session.get_adapter(url) is not self._adapter or session.auth is not None or session.cookies:
            return session.request(
                method,
                url,
                data=body,
                headers=extra,
                allow_redirects=False,
                stream=True,
                timeout=timeout,
                verify=verify,
            )
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(session.headers)
        merged.update(extra)
        if body is not None:
            merged["Content-Length"] = str(len(body))
        elif method not in _NO_LENGTH_METHODS:
            merged["Content-Length"] = "0"
        raw = self._urlopen(method, url, tail, body, merged, timeout, verify)
        response = requests.Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = raw.reason or ""
        response.url = url
        if session.hooks.get("response"):
            response.request = self._prepared(method, url, merged, body)
            response = dispatch_hook("response", session.hooks, response)
        return response

    def _urlopen(
        self,
        method: str,
        url: str,
        tail: str,
        body: bytes | None,
        headers: CaseInsensitiveDict[Any],
        timeout: float,
        verify: bool | str,
    ) -> urllib3.BaseHTTPResponse:
        """What ``HTTPAdapter.send`` does with a prepared request, but its response building."""
        adapter, proxies = self._adapter, self.session.proxies
        try:
            pool = cast(
                "urllib3.HTTPConnectionPool",
                adapter.get_connection_with_tls_context(self._template, verify, proxies=proxies),
            )
        except urllib3.exceptions.LocationValueError as err:
            raise requests.exceptions.InvalidURL(err) from err
        adapter.cert_verify(pool, url, verify, None)
        # The origin form, or the absolute URL through a plain-HTTP proxy, as the adapter decides.
        target = adapter.request_url(self._template, proxies)[:-1] + tail
        try:
            return pool.urlopen(
                method,
                target,
                body=body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
            )
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise _as_requests_error(err) from err

    def _prepared(
        self, method: str, url: str, headers: CaseInsensitiveDict[Any], body: bytes | None
    ) -> requests.PreparedRequest:
        """What a response hook reads as ``response.request`` (built only when one is installed)."""
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = url
        prepared.headers = headers
        prepared.body = body
        return prepared


def _as_requests_error(err: Exception) -> requests.exceptions.RequestException:
    """The exception ``HTTPAdapter.send`` raises for what ``urlopen`` raised (urllib3's own retries
    are off, so its errors arrive unwrapped)."""
    exc = urllib3.exceptions
    if isinstance(err, exc.ProxyError):
        return requests.exceptions.ProxyError(err)
    if isinstance(err, exc.SSLError):
        return requests.exceptions.SSLError(err)
    if isinstance(err, exc.ReadTimeoutError):
        return requests.exceptions.ReadTimeout(err)
    if isinstance(err, exc.ConnectTimeoutError) and not isinstance(err, exc.NewConnectionError):
        return requests.exceptions.ConnectTimeout(err)
    if isinstance(err, exc.InvalidHeader):
        return requests.exceptions.InvalidHeader(err)
    if isinstance(err, exc.LocationValueError):
        return requests.exceptions.InvalidURL(err)
    return requests.exceptions.ConnectionError(err)
