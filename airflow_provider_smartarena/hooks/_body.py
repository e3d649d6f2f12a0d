"""Reading a response body within a size cap and a deadline.

A hostile or broken server can send an endless body, a small gzip that inflates to gigabytes, or
one byte a second. The body is therefore read in pieces: each piece is inflated with the cap
applied to the *inflated* size, and the request's deadline (connect + whole body within
``timeout``) is checked between pieces, with the socket's own timeout lowered to what is left.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from typing import Any

import requests
import urllib3

from airflow_provider_smartarena.exceptions import SmartArenaResponseError

#: Bytes asked of the socket at a time: large enough that a 150 KB page costs few calls.
CHUNK = 1 << 20
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """The whole request took longer than ``timeout``; treated as any read timeout (retried)."""


class _Inflater:
    """Streaming gzip/deflate decoding whose output never exceeds what it is asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # 16 + MAX_WBITS: a gzip header; "deflate" is meant as zlib but often sent raw (tried next).
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits)
        self._first = True

    def inflate(self, data: bytes, max_length: int) -> tuple[bytes, bool]:
        """Inflate ``data``; return the output and whether more output was held back."""
        try:
            out = self._obj.decompress(data, max_length)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, max_length)
        self._first = False
        return out, bool(self._obj.unconsumed_tail)

    def flush(self, max_length: int) -> bytes:
        return self._obj.flush(max_length)


def _too_large(limit: int, method: str, path: str, status: int) -> SmartArenaResponseError:
    return SmartArenaResponseError(
        f"the response body is larger than max_response_bytes ({limit:,} bytes, after decompression); "
        "if the server really sends answers this large, raise the connection extra max_response_bytes "
        "(or lower page_size)",
        method=method,
        path=path,
        status=status,
    )


def _deadline_passed(response: requests.Response, timeout: float) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"the answer took longer than timeout={timeout:g} s in all (connect and whole body)",
        response=response,
    )


def _set_socket_timeout(response: requests.Response, seconds: float) -> None:
    """Lower the socket's timeout to the time left, so one slow read cannot pass the deadline."""
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        # A socket already closed raises here; the next read says so more usefully.
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.001))


def read_body(
    response: requests.Response, *, limit: int, deadline: float, timeout: float, method: str, path: str
) -> bytes:
    """Read, inflate and return the whole body of a streamed response.

    :param limit: the largest decoded body accepted, bytes.
    :param deadline: ``time.monotonic()`` by which the body must be complete.
    :param timeout: the configured ``timeout``, named in the error when the deadline passes.
    :raises SmartArenaResponseError: the body is larger than ``limit`` or its encoding is unknown.
    :raises requests.exceptions.RequestException: as requests raises them (a broken or corrupt
        body, a timeout), so that the retries treat them alike.
    """
    raw: Any = response.raw
    status = response.status_code
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    inflater: _Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding)
    elif encoding not in ("", "identity"):
        raise SmartArenaResponseError(
            f"the response uses the content encoding {encoding[:40]!r}; only gzip and deflate are accepted",
            method=method,
            path=path,
            status=status,
        )
    declared = response.headers.get("Content-Length", "")
    if inflater is None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, method, path, status)
    pieces: list[bytes] = []
    size = 0
    # The socket starts with the full timeout per read; it is lowered to what is left of the
    # deadline once that is a second shorter, or under a second (not a syscall per piece).
    socket_timeout = timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _deadline_passed(response, timeout)
            if left < socket_timeout - 1.0 or (left < socket_timeout and left < 1.0):
                _set_socket_timeout(response, left)
                socket_timeout = left
            data = raw.read1(CHUNK, decode_content=False)
            if not data:
                break
            if inflater is not None:
                data, held_back = inflater.inflate(data, limit - size + 1)
                if held_back:
                    raise _too_large(limit, method, path, status)
            size += len(data)
            if size > limit:
                raise _too_large(limit, method, path, status)
            pieces.append(data)
        if inflater is not None:
            tail = inflater.flush(limit - size + 1)
            size += len(tail)
            if size > limit:
                raise _too_large(limit, method, path, status)
            pieces.append(tail)
    except urllib3.exceptions.SSLError as err:
        raise requests.exceptions.SSLError(err, response=response) from err
    except urllib3.exceptions.ProtocolError as err:
        raise requests.exceptions.ChunkedEncodingError(err, response=response) from err
    except (urllib3.exceptions.DecodeError, zlib.error) as err:
        raise requests.exceptions.ContentDecodingError(err, response=response) from err
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as err:
        if time.monotonic() >= deadline - 0.05:  # the socket's timeout was what was left of the deadline
            raise _deadline_passed(response, timeout) from err
        raise requests.exceptions.ConnectionError(err, response=response) from err
    finally:
        if socket_timeout != timeout:  # a pooled connection's next request starts afresh
            _set_socket_timeout(response, timeout)
        response.close()  # back to the pool when read to the end; discarded after an error
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
