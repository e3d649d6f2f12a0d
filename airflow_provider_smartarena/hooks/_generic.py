"""The generic layer of the hook: any endpoint of ``resources.py``, validated, then sent.

:class:`GenericCalls` is a base of :class:`~airflow_provider_smartarena.hooks.SmartArenaHook`:
:meth:`~GenericCalls.call`, :meth:`~GenericCalls.iter_pages`, :meth:`~GenericCalls.list_records`,
:meth:`~GenericCalls.create_record` ... validate with :meth:`Endpoint.prepare
<airflow_provider_smartarena.resources.Endpoint.prepare>` before anything is sent, and go through
the hook's transport (``hooks/_transport.py``). The typed calls of the hook are thin wrappers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from airflow_provider_smartarena.exceptions import (
    SmartArenaInputError,
    SmartArenaNotFoundError,
    SmartArenaResponseError,
)
from airflow_provider_smartarena.hooks import _http, _paging, _settle
from airflow_provider_smartarena.hooks._paging import Page
from airflow_provider_smartarena.hooks._retry import parse_http_date
from airflow_provider_smartarena.hooks._secrets import secrets_in
from airflow_provider_smartarena.hooks._transport import Settle as _Settle
from airflow_provider_smartarena.resources import RESOURCES, Endpoint, Resource

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from airflow_provider_smartarena.hooks._transport import Transport

T = TypeVar("T")
R = TypeVar("R")

#: The cheap read used by ``server_now``: a filter nothing matches.
_PROBE_PATH = "/api/locations"


@dataclass
class Outcome:
    """The result of one item of :meth:`SmartArenaHook.run_concurrently`.

    :param item: the input item.
    :param result: what the function returned, when it succeeded.
    :param error: the exception it raised, when it failed.
    """

    item: Any
    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.error is None


class GenericCalls:
    """Calls of any documented endpoint, for a hook that provides the transport and settings."""

    if TYPE_CHECKING:  # provided by SmartArenaHook
        max_pages: int
        pool_maxsize: int
        _transport: Transport

        @property
        def log(self) -> Any: ...

        @property
        def timezone(self) -> ZoneInfo: ...

        @property
        def page_size(self) -> int | None: ...

        @property
        def base_url(self) -> str: ...

        def _send(self, method: str, path: str, **kwargs: Any) -> tuple[Any, str | None]: ...

    def call(self, endpoint: Endpoint, **values: Any) -> Any:
        """Validate ``values`` for ``endpoint``, send the call and return the parsed JSON.

        GET parameters travel in the query string; POST, PUT and DELETE parameters as a JSON body.
        ``None`` values are not sent. An empty response body returns ``{}``.

        :raises SmartArenaInputError: before any request, when a value is invalid.
        """
        return self._execute(endpoint, endpoint.prepare(values, tz=self.timezone))

    def iter_pages(
        self,
        endpoint: Endpoint,
        *,
        max_concurrency: int = 1,
        start_page: int = 1,
        record_type: type[msgspec.Struct] | None = None,
        **values: Any,
    ) -> Iterator[Page]:
        """Stream the pages of a listing, in order.

        Values are validated now (not on the first ``next()``). Any list envelope is understood: a
        bare list, ``{"data": [...]}``, a Laravel paginator (numbered, simple or cursor, also as an
        API resource with ``links``/``meta``), or an unknown object holding one list of records.
        Numbered pages are asked for by number; a cursor or link-only paginator by its own next
        link or cursor, on the connection's host only. Paging stops when the metadata agree there
        is no next page, on an empty page, or (without metadata) on a page shorter than the
        previous one; metadata that contradict each other are read past while pages are full or
        linked, and raise :class:`SmartArenaResponseError` if the read still disagrees with them.
        A bare list whose page 2 is exactly page 1 is an unpaged endpoint (page 1 is the answer);
        any other page repeating the previous one raises, as does passing ``max_pages``. Endpoints
        the API does not document as paged are read with one request, and followed page by page
        only if the server answers with a paginator.

        :param endpoint: a GET endpoint of :mod:`~airflow_provider_smartarena.resources`.
        :param max_concurrency: when the paginator tells the page count, fetch up to this many
            requests at once (still yielded in order; at most twice this many pages are held or in
            flight ahead of the caller). Link and cursor paging is sequential whatever this says.
        :param start_page: the first page to read (1-based).
        :param record_type: a ``msgspec.Struct`` type to decode records into, straight from the
            body (what the transfers use: it costs a fraction of decoding dicts). A page whose
            records do not all fit it strictly, or in another envelope, comes as dicts.
        """
        if endpoint.method != "GET":
            raise SmartArenaInputError(
                "endpoint", f"{endpoint.method} {endpoint.path} is not a listing", "GET"
            )
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise SmartArenaInputError("max_concurrency", f"got {max_concurrency!r}", "a whole number >= 1")
        if isinstance(start_page, bool) or not isinstance(start_page, int) or start_page < 1:
            raise SmartArenaInputError("start_page", f"got {start_page!r}", "a whole number >= 1")
        params = endpoint.prepare(values, tz=self.timezone)
        if max_concurrency > self.pool_maxsize:
            self.log.warning(
                "max_concurrency=%d exceeds pool_maxsize=%d: extra connections will not be kept alive",
                max_concurrency,
                self.pool_maxsize,
            )
        decode = _paging.typed_decoder(record_type) if record_type is not None else None
        return _paging.walk_pages(
            self._transport.guarded(
                functools.partial(self._fetch_page, endpoint, params, decode=decode),
                endpoint.method,
                endpoint.path,
            ),
            paged=endpoint.paginated,
            start_page=start_page,
            max_concurrency=max_concurrency,
            max_pages=self.max_pages,
            method=endpoint.method,
            path=endpoint.path,
            base_url=self.base_url,
            log=self.log,
        )

    def iter_records(self, endpoint: Endpoint, **values: Any) -> Iterator[dict[str, Any]]:
        """Stream the records of a listing (see :meth:`iter_pages`)."""
        return itertools.chain.from_iterable(page.records for page in self.iter_pages(endpoint, **values))

    def list_records(self, resource: Resource | str, **filters: Any) -> list[dict[str, Any]]:
        """Return every record of ``resource`` matching ``filters`` (the list endpoint's parameters)."""
        return list(self.iter_records(_resource(resource).list, **filters))

    def get_record(self, resource: Resource | str, mapping_code: str) -> dict[str, Any] | None:
        """Return the record whose ``mapping_code`` is exactly ``mapping_code``, or None.

        The list endpoint's ``mapping_code`` filter is used, and the answer is checked: a server
        that ignores the filter cannot make this return another record. A 404 means "no such record".
        """
        res = _resource(resource)
        if mapping_code is None:  # prepare() drops None, as it does for every optional filter
            raise SmartArenaInputError(res.key, "is required", res.list.field(res.key).allowed())
        wanted = res.list.prepare({res.key: mapping_code}, tz=self.timezone)[res.key]
        pages = self.iter_pages(res.list, **{res.key: wanted})
        try:
            for page in pages:
                for record in page.records:
                    if str(record.get(res.key)) == wanted:
                        return record
        except SmartArenaNotFoundError:
            return None
        finally:
            pages.close()  # type: ignore[attr-defined]
        return None

    def create_record(self, resource: Resource | str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record (POST); ``values`` are the create endpoint's parameters.

        A create is retried after a failure that may or may not have reached the server (a
        dropped connection, a read timeout, a 5xx). If that retry is then refused as a duplicate
        ``mapping_code``, the record is read back: when it holds the values sent, the first
        attempt did create it and the record read back is returned; otherwise the refusal is raised.
        """
        res = _resource(resource)
        params = res.create.prepare(values, tz=self.timezone)
        settle = functools.partial(
            _settle.settle_create, functools.partial(self.get_record, res), res, params
        )
        return self._write(res.create, params, settle)

    def update_record(self, resource: Resource | str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Update the record identified by ``values["mapping_code"]`` (PUT; idempotent, retried)."""
        res = _resource(resource)
        return self._write(res.update, res.update.prepare(values, tz=self.timezone))

    def delete_record(self, resource: Resource | str, mapping_code: str, **extra: Any) -> dict[str, Any]:
        """Delete a record (DELETE with a JSON body).

        After a failure that may have reached the server, a 404 on the retry means the first attempt
        deleted it: that is success (``{}`` is returned).
        """
        res = _resource(resource)
        params = res.delete.prepare({res.key: mapping_code, **extra}, tz=self.timezone)
        return self._write(res.delete, params, _settle.settle_delete)

    def run_concurrently(
        self, func: Callable[[T], R], items: Iterable[T], *, max_workers: int = 8
    ) -> list[Outcome]:
        """Call ``func(item)`` for every item on a bounded thread pool sharing this hook.

        Outcomes come back in the order of ``items``; an item's exception is stored in its
        outcome, never raised.
        """
        if max_workers < 1:
            raise SmartArenaInputError("max_workers", f"got {max_workers!r}", "a whole number >= 1")

        def run(item: T) -> Outcome:
            try:
                return Outcome(item, func(item))
            except Exception as err:
                return Outcome(item, error=err)

        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="smartarena-bulk") as pool:
            return list(pool.map(run, items))

    def server_now(self, max_age: float = 5.0) -> dt.datetime:
        """Return the server's clock (aware, UTC) from the ``Date`` header of the latest response.

        When no response is younger than ``max_age`` seconds, a cheap read is made first. The
        header has a one-second resolution and is never later than the server's real time.
        """
        latest = self._transport.last_date
        if latest is None or time.monotonic() - latest[0] > max_age:
            self._probe()
            latest = self._transport.last_date
        server_time = parse_http_date(latest[1]) if latest else None
        if server_time is None:
            raise SmartArenaResponseError(
                "the server sends no usable Date header", method="GET", path=_PROBE_PATH
            )
        return server_time

    def _execute(self, endpoint: Endpoint, params: dict[str, Any], settle: _Settle | None = None) -> Any:
        with self._transport.guard(endpoint.method, endpoint.path, secrets_in(params)):
            return self._execute_unguarded(endpoint, params, settle)

    def _execute_unguarded(
        self, endpoint: Endpoint, params: dict[str, Any], settle: _Settle | None = None
    ) -> Any:
        if endpoint.method == "GET":
            body, _ = self._send("GET", endpoint.path, params=params)
            if _http.looks_like_error(body):
                raise _http.disguised_error(body, endpoint.method, endpoint.path)
            return body
        body, _ = self._send(endpoint.method, endpoint.path, json_body=params, settle=settle)
        if isinstance(body, dict) and (body.get("error") or body.get("success") is False):
            raise _http.disguised_error(body, endpoint.method, endpoint.path)
        return body

    def _write(
        self, endpoint: Endpoint, params: dict[str, Any], settle: _Settle | None = None
    ) -> dict[str, Any]:
        body = self._execute(endpoint, params, settle)
        return body if isinstance(body, dict) else {"data": body}

    def _post(self, endpoint: Endpoint, values: Mapping[str, Any]) -> dict[str, Any]:
        return self._write(endpoint, endpoint.prepare(values, tz=self.timezone))

    def _fetch_page(
        self,
        endpoint: Endpoint,
        params: dict[str, Any],
        number: int | None,
        follow: Mapping[str, str] | None = None,
        decode: Callable[[bytes], _paging.TypedListing | None] | None = None,
    ) -> _paging.Fetched:
        query = dict(params)
        if follow is not None:
            # A next link or cursor: its paging parameters replace ``page``, over our filters.
            if endpoint.paginated and self.page_size:
                query["per_page"] = self.page_size
            query.update(follow)
        elif number is not None:
            query["page"] = number
            # Only where paging is documented: a page size sent from page 2 on, after an unpaged
            # page 1 of the server's own size, would shift the offsets and skip records.
            if endpoint.paginated and self.page_size:
                query["per_page"] = self.page_size
        body, date = self._send("GET", endpoint.path, params=query, decode=decode)
        if isinstance(body, _paging.TypedListing):
            records, meta = body.records, body.meta
        else:
            records, meta = _paging.parse_listing(body, method="GET", path=endpoint.path)
        page = Page(number or 1, records, meta.last_page, meta.total, parse_http_date(date))
        return _paging.Fetched(page, meta, paged=number is not None or follow is not None)

    def _probe(self) -> None:
        """One cheap authenticated read: a location filter that matches nothing."""
        with contextlib.suppress(SmartArenaNotFoundError):
            self._send("GET", _PROBE_PATH, params={"mapping_code": f"airflow-probe-{uuid.uuid4().hex}"})


def _resource(resource: Resource | str) -> Resource:
    if isinstance(resource, Resource):
        return resource
    try:
        return RESOURCES[resource]
    except KeyError:
        raise SmartArenaInputError(
            "resource", f"unknown resource {resource!r}", ", ".join(RESOURCES)
        ) from None
