"""Hostile bodies: size cap (gzip included), the whole-request timeout, deep nesting, odd headers.

Issue 17 #11 and #12: a server cannot exhaust memory, hold a request past ``timeout``, or make the
hook raise anything but a :class:`SmartArenaResponseError` naming the call.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_smartarena.exceptions import SmartArenaError, SmartArenaResponseError
from airflow_provider_smartarena.hooks._retry import parse_http_date

from .scripted import Reply, Request, connection_json

MB = 1024 * 1024


def test_a_body_over_the_cap_fails_naming_the_limit_and_the_extra(serve: Any) -> None:
    big = b'{"data": ["' + b"x" * (2 * MB) + b'"]}'
    _, hook = serve(lambda r: Reply(200, raw=big), max_response_bytes=MB, max_retries=0)
    with pytest.raises(SmartArenaResponseError, match="max_response_bytes") as info:
        hook.get_users()
    assert "1,048,576 bytes" in str(info.value)
    assert "GET /api/users" in str(info.value)


def test_a_gzip_bomb_is_stopped_at_the_inflated_cap(serve: Any) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * MB) + b"]", compresslevel=9)
    assert len(bomb) < MB // 4  # small on the wire
    headers = {"Content-Encoding": "gzip"}
    _, hook = serve(lambda r: Reply(200, raw=bomb, headers=headers), max_response_bytes=MB, max_retries=0)
    with pytest.raises(SmartArenaResponseError, match="after decompression"):
        hook.get_users()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_compressed_answers_within_the_cap_are_read(serve: Any, encoding: str) -> None:
    body = b'[{"mapping_code": "u-1"}, {"mapping_code": "u-2"}]' + b" " * 5000
    if encoding == "gzip":
        payload = gzip.compress(body)
    elif encoding == "deflate":
        payload = zlib.compress(body)
    else:
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        payload = compressor.compress(body) + compressor.flush()
    headers = {"Content-Encoding": encoding.split("-")[0]}
    _, hook = serve(lambda r: Reply(200, raw=payload, headers=headers))
    assert [u["mapping_code"] for u in hook.get_users()] == ["u-1", "u-2"]


def test_an_unknown_content_encoding_is_a_response_error(serve: Any) -> None:
    _, hook = serve(lambda r: Reply(200, raw=b"xx", headers={"Content-Encoding": "br"}), max_retries=0)
    with pytest.raises(SmartArenaResponseError, match="content encoding 'br'"):
        hook.get_users()


@pytest.fixture
def dripping() -> Iterator[str]:
    """A loopback server answering headers at once, then one body byte every 0.25 s, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            if b"/oauth/access_token" in data.split(b"\r\n", 1)[0]:
                body = b'{"access_token": "drip-token-0123456789", "expires_in": 3600}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                conn.sendall(b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                return
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n["
            )
            try:
                while not stop.wait(0.25):
                    conn.sendall(b" ")
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


@pytest.mark.timeout(30)  # before the fix, the drip kept the request alive for hours
def test_a_dripping_server_fails_at_the_timeout_not_per_read(dripping: str, make_hook: Any) -> None:
    hook = make_hook(connection_json(dripping, timeout=1.5, max_retries=0))
    started = time.monotonic()
    with pytest.raises(SmartArenaError, match=r"timeout=1\.5 s in all"):
        hook.get_users()
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"took {elapsed:.1f} s with timeout=1.5"


@pytest.mark.parametrize("depth", [5_000, 200_000])
def test_deeply_nested_json_is_a_response_error(serve: Any, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    _, hook = serve(lambda r: Reply(200, raw=nested), max_retries=0)
    with pytest.raises(SmartArenaResponseError) as info:
        hook.get_users()
    assert "GET /api/users" in str(info.value)


def test_deeply_nested_json_in_an_error_body_is_a_provider_error(serve: Any) -> None:
    nested = b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    _, hook = serve(lambda r: Reply(422, raw=nested), max_retries=0)
    with pytest.raises(SmartArenaError) as info:
        hook.create_location("l-1", "Here")
    assert info.value.path == "/api/locations"


@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:59:59 -0500", "Sat, 01 Jan 0001 00:00:00 +2359"])
def test_a_date_header_in_year_9999_is_not_an_overflow(serve: Any, date: str) -> None:
    def route(request: Request) -> Reply:
        body = {"data": [{"id": 1, "user_mapping_code": "u"}], "current_page": 1, "last_page": 1}
        return Reply(200, body, headers={"Date": date})

    _, hook = serve(route, max_retries=0)
    pages = list(hook.iter_user_course_pages())
    assert pages[0].records


def test_a_server_date_past_the_calendar_is_unusable_not_an_overflow() -> None:
    assert parse_http_date("Fri, 31 Dec 9999 23:59:59 -0500") is None
    assert parse_http_date("Fri, 31 Dec 9999 23:59:59 +0000") is not None


def test_a_retry_after_date_in_year_9999_is_a_provider_error(serve: Any) -> None:
    headers = {"Retry-After": "Fri, 31 Dec 9999 23:59:59 -0500", "Date": "Fri, 31 Dec 9999 23:59:59 +0100"}
    _, hook = serve(lambda r: Reply(429, {"message": "slow down"}, headers=headers), max_retries=1)
    with pytest.raises(SmartArenaError) as info:
        hook.get_users()
    assert info.value.path == "/api/users"
