"""The hook's exchanges on the session's pools: through a real proxy, with a customised session, and
what is refused before anything is sent."""

from __future__ import annotations

import base64
import http.client
import http.server
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from airflow_provider_smartarena.exceptions import SmartArenaInputError, SmartArenaNotFoundError
from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

MakeHook = Callable[..., SmartArenaHook]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-authorization", "proxy-connection"}


class _ForwardProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        #: (request target, Proxy-Authorization, whether an Authorization header came) per request.
        self.seen: list[tuple[str, str | None, bool]] = []


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: absolute-form targets, relayed to the origin they name."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _ForwardProxy

    def _relay(self) -> None:
        self.server.seen.append(
            (self.path, self.headers.get("Proxy-Authorization"), "Authorization" in self.headers)
        )
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        try:
            upstream.request(
                self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers
            )
            answer = upstream.getresponse()
            payload = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _relay  # noqa: N815 (http.server's handler names)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def forward_proxy() -> Iterator[_ForwardProxy]:
    server = _ForwardProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_calls_go_through_the_environments_proxy_with_its_credentials(
    fresh_sandbox: Any, make_hook: MakeHook, forward_proxy: _ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = forward_proxy.server_address[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://proxy-user:proxy-pass@127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    hook = make_hook(fresh_sandbox.connection_json())
    pages = list(hook.iter_user_course_pages(max_concurrency=3))
    assert sum(len(page.records) for page in pages) == len(fresh_sandbox.state("usercourses"))
    assert forward_proxy.seen, "nothing went through the proxy"
    credentials = "Basic " + base64.b64encode(b"proxy-user:proxy-pass").decode()
    for target, proxy_auth, _ in forward_proxy.seen:
        # An http:// origin through a proxy is asked for by its absolute URL (no tunnel).
        assert target.startswith(fresh_sandbox.url + "/"), target
        assert proxy_auth == credentials
    assert [bearer for target, _, bearer in forward_proxy.seen if "/api/" in target] == [True] * len(pages)
    assert any(target.endswith("/oauth/access_token") for target, _, _ in forward_proxy.seen)


class _CountingAdapter(HTTPAdapter):
    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request.url or "")
        return super().send(request, *args, **kwargs)


def test_a_session_customised_through_get_conn_is_still_used(fresh_sandbox: Any, make_hook: MakeHook) -> None:
    hook = make_hook(fresh_sandbox.connection_json())
    session = hook.get_conn()
    answered: list[tuple[int, str | None]] = []

    def note(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        answered.append((response.status_code, response.request.headers.get("Authorization")))

    session.hooks["response"].append(note)
    assert hook.get_locations()
    # The response hook runs on the hook's own exchanges, with the request they sent.
    assert answered, "the response hook did not run"
    status, bearer = answered[-1]
    assert status == 200
    assert (bearer or "").startswith("Bearer ")

    adapter = _CountingAdapter()
    session.mount(fresh_sandbox.url, adapter)
    assert hook.get_locations()
    assert [url.split("?")[0] for url in adapter.sent] == [fresh_sandbox.url + "/api/locations"]


def test_a_body_json_cannot_carry_is_refused_before_any_request(
    fresh_sandbox: Any, make_hook: MakeHook
) -> None:
    hook = make_hook(fresh_sandbox.connection_json())
    hook.get_locations()  # the token first: only the refused call is counted below
    fresh_sandbox.reset_stats()
    with pytest.raises(SmartArenaInputError, match=r"json: .*allowed: JSON values: text, finite numbers"):
        hook.request("POST", "/api/locations", json={"name": "x", "mapping_code": "nan", "lat": math.nan})
    with pytest.raises(SmartArenaInputError, match=r"json: .*not JSON serializable"):
        hook.request("POST", "/api/locations", json={"name": "x", "mapping_code": "set", "tags": {1}})
    assert fresh_sandbox.stats()["total"] == 0


def test_a_path_is_quoted_as_requests_quotes_it(fresh_sandbox: Any, make_hook: MakeHook) -> None:
    hook = make_hook(fresh_sandbox.connection_json())
    reply = hook.request("GET", "/api/%6Cocations", params={"mapping_code": "a b&c"})
    # Unreserved characters unquoted, the parameters form-encoded: the URL requests would send.
    assert reply.url == fresh_sandbox.url + "/api/locations?mapping_code=a+b%26c"
    fresh_sandbox.reset_stats()
    # Sent as /api/no%20such%20thing (http.client would refuse a raw space before sending).
    with pytest.raises(SmartArenaNotFoundError):
        hook.request("GET", "/api/no such thing")
    assert fresh_sandbox.stats()["by_status"] == {"404": 1}
