"""The read-only checks of a tenant against the provider's assumptions, and :func:`probe` running them.

Read-only by construction: the probe makes one token request and GET calls (page 1, and for
``usercourses`` one more page to name the paging style; the time zone and filter checks use narrow
``updated_at`` filters with ``modules_data=0``), all through
:class:`~airflow_provider_smartarena.probe._reads.Reads`, which has no other verb.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow_provider_smartarena.exceptions import (
    SmartArenaAuthError,
    SmartArenaConfigError,
    SmartArenaConnectionError,
    SmartArenaError,
    SmartArenaResponseError,
    SmartArenaTLSError,
)
from airflow_provider_smartarena.hooks import paging
from airflow_provider_smartarena.probe import _datetimes, _filter, _timezone
from airflow_provider_smartarena.probe._activities import ActivityReader, in_zone
from airflow_provider_smartarena.probe._reads import Reads
from airflow_provider_smartarena.probe.model import (
    DateFieldCheck,
    EndpointCheck,
    Envelope,
    Failure,
    FieldCheck,
    PagingCheck,
    ProbeReport,
    TimezoneCheck,
    TokenCheck,
)
from airflow_provider_smartarena.probe.verdict import advise
from airflow_provider_smartarena.resources import (
    BRANCHES,
    CONTENT,
    CONTENT_COLUMNS,
    COURSE_COLUMNS,
    COURSES,
    LOCATIONS,
    QUALIFICATIONS,
    USER_COURSE_COLUMNS,
    USER_COURSES,
    USERS,
    WORKPLACES,
    Endpoint,
    Resource,
)

if TYPE_CHECKING:
    from airflow_provider_smartarena.hooks.smartarena import SmartArenaHook

__all__ = ["TARGETS", "Target", "probe"]

_DOCUMENT = "the API document's returned data"
_COMPARED = "the fields the provider reads and compares"


@dataclass(frozen=True)
class Target:
    """One list endpoint the probe reads.

    :param expected: the record fields the provider expects, and where that list comes from.
    :param key: the fields the provider cannot do without (keys, the extraction's watermark).
    :param datetimes: datetime fields whose format is reported.
    :param no_match: a filter to give a value that matches nothing (the short probe's cheap read).
    """

    name: str
    endpoint: Endpoint
    expected: tuple[str, ...]
    expected_from: str
    key: tuple[str, ...]
    datetimes: tuple[str, ...] = ()
    no_match: str | None = None


def _crud(resource: Resource) -> Target:
    # No returned fields are documented for these: expect what the sync reads and compares.
    return Target(
        name=resource.path.rsplit("/", 1)[1],
        endpoint=resource.list,
        expected=(resource.key, *resource.comparable),
        expected_from=_COMPARED,
        key=(resource.key,),
        no_match=resource.key,
    )


TARGETS: tuple[Target, ...] = (
    *(_crud(r) for r in (USERS, BRANCHES, LOCATIONS, WORKPLACES, QUALIFICATIONS)),
    Target("content", CONTENT, tuple(CONTENT_COLUMNS), _DOCUMENT, key=("id",)),
    Target(
        "courses",
        COURSES.list,
        tuple(COURSE_COLUMNS),
        _DOCUMENT,
        key=("mapping_code",),
        datetimes=("updated_at", "created_at"),
        no_match="mapping_code",
    ),
    Target(
        "usercourses",
        USER_COURSES,
        tuple(USER_COURSE_COLUMNS),
        _DOCUMENT,
        key=("user_mapping_code", "course_mapping_code", "updated_at"),
        datetimes=("updated_at", "created_at"),
        no_match="user_mapping_code",
    ),
)


def probe(hook: SmartArenaHook, *, short: bool = False) -> ProbeReport:
    """Check the connection's tenant against the provider's assumptions, without writing anything.

    Never raises for what the server or the network does: a failure to get a token (bad
    credentials, unreachable host, TLS) is the report's :attr:`~ProbeReport.failure`, an endpoint's
    error is in its :class:`EndpointCheck`.

    :param hook: the hook of the connection to probe; its retries, timeout and TLS settings apply.
    :param short: only the token and one cheap read per endpoint (a filter that matches nothing):
        reachability and envelope, as :meth:`SmartArenaHook.test_connection` wants.
    """
    started = time.perf_counter()
    report = ProbeReport(
        base_url=None,
        client_id=None,
        conn_id=hook.smartarena_conn_id,
        connection_timezone=None,
        mode="short" if short else "full",
        started_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    access = Reads(hook)
    try:
        _run(report, hook, access, short)
    finally:
        report.duration_ms = round((time.perf_counter() - started) * 1000)
        report.requests = {"token": access.token_requests, "get": access.gets}
    advise(report)
    _redact(report, access)
    return report


def _run(report: ProbeReport, hook: SmartArenaHook, access: Reads, short: bool) -> None:
    try:
        settings = hook.settings
    except SmartArenaError as err:
        report.failure = Failure("config", f"The connection is not usable: {err.message}")
        return
    except Exception as err:  # e.g. AirflowNotFoundException: the same words as test_connection's
        report.failure = Failure(
            "config", f"The connection {hook.smartarena_conn_id!r} cannot be read: {_message(err)}"
        )
        return
    report.base_url, report.client_id = settings.base_url, settings.client_id
    report.connection_timezone = settings.timezone.key
    with access.watching_responses():
        try:
            report.token = TokenCheck(ok=True, expires_in=access.new_token())
        except SmartArenaError as err:
            report.token = TokenCheck(ok=False)
            report.failure = describe_failure(err, settings.base_url, settings.client_id)
            return
        pages = {t.name: _read(access, hook, t, short) for t in TARGETS}
        report.endpoints = [check for check, _, _ in pages.values()]
        if access.last_date is not None:
            report.server_date = access.last_date.strftime("%Y-%m-%d %H:%M:%S UTC")
        if not short:
            check, records, body = pages["usercourses"]
            if records is not None:
                check.paging = _paging_check(access, hook, body)
                report.dates = _date_check(records, settings.timezone)
            _activity_checks(report, access, (check, records), settings.timezone)
    report.rate_limit, report.throttled = dict(access.rate_limit), access.throttled


def describe_failure(err: BaseException, base_url: str, client_id: str) -> Failure:
    """One line for a person on why nothing could be read (the wording of ``test_connection``)."""
    text = _message(err)
    if isinstance(err, SmartArenaAuthError):
        return Failure("auth", (
            f"Bad credentials: {base_url} refused client id {client_id!r} or its secret ({text}). "
            "Check the connection's login (client id) and password (client secret)."
        ))  # fmt: skip
    if isinstance(err, SmartArenaTLSError):
        return Failure("tls", (
            f"TLS failure: the certificate of {base_url} could not be verified ({text}). "
            "If the server uses a private CA, set the verify_ssl extra to its CA bundle path."
        ))  # fmt: skip
    if isinstance(err, SmartArenaConnectionError):
        return Failure("unreachable", (
            f"Host unreachable: could not connect to {base_url} ({text}). "
            "Check the host URL and port, DNS, firewall and proxy settings."
        ))  # fmt: skip
    if isinstance(err, SmartArenaConfigError):
        return Failure("config", f"The connection is not usable: {text}")
    return Failure("error", f"{base_url} answered, but not as the Smart ARENA API does: {text}")


def _message(err: BaseException) -> str:
    return err.message if isinstance(err, SmartArenaError) else str(err) or type(err).__name__


# ---------------------------------------------------------------------- endpoints


def _params(hook: SmartArenaHook, target: Target, short: bool) -> dict[str, Any]:
    """What the hook itself would send for page 1, or a filter that matches nothing."""
    params: dict[str, Any] = {}
    if target.endpoint.paginated:
        params["page"] = 1
        if hook.page_size:
            params["per_page"] = hook.page_size
    if short and target.no_match:
        params[target.no_match] = f"smartarena-probe-{uuid.uuid4().hex[:12]}"
    return params


def _read(
    access: Reads, hook: SmartArenaHook, target: Target, short: bool
) -> tuple[EndpointCheck, list[dict[str, Any]] | None, Any]:
    """Read page 1 of ``target``; return its check, its records (None when unreadable) and body."""
    check = EndpointCheck(target.name, target.endpoint.path, reachable=False)
    try:
        reply = access.get(target.endpoint.path, _params(hook, target, short))
    except SmartArenaError as err:
        check.status, check.error = err.status, _message(err)
        if short and err.status == 404 and target.no_match:
            # Some servers answer a filter that matches nothing with 404: the endpoint is there.
            check.reachable = True
            check.notes.append("404 for a filter that matches nothing")
        return check, None, None
    check.reachable, check.status = True, 200
    records = _envelope(check, reply.body)
    if records is not None and not short:
        check.fields = _fields(target, records)
        check.datetimes = [c for c in (_datetimes.check_field(f, records) for f in target.datetimes) if c]
    return check, records, reply.body


def _envelope(check: EndpointCheck, body: Any) -> list[dict[str, Any]] | None:
    """Classify the reply's envelope with the hook's own parser; fill the paging facts."""
    try:
        records, meta = paging.parse_listing(body, method="GET", path=check.path)
    except SmartArenaResponseError as err:
        check.envelope, check.error = "unrecognised", err.message
        check.paging_keys = _keys(body)
        return None
    check.envelope = _kind(body, meta)
    check.paging_keys = _keys(body)
    check.records, check.per_page = len(records), meta.per_page
    check.total, check.last_page = meta.total, meta.last_page
    return records


def _kind(body: Any, meta: paging.PageMeta) -> Envelope:
    if isinstance(body, list):
        return "list"
    data = body.get("data")
    if isinstance(data, dict):
        return "paginator"  # {"data": <paginator>}
    if isinstance(data, list):
        paged = meta.present or meta.per_page is not None or meta.current_page is not None
        return "paginator" if paged else "data"
    return "unknown"


def _keys(body: Any) -> list[str]:
    """The reply's keys besides the records, with those of nested ``meta``/``links`` objects."""
    if not isinstance(body, Mapping):
        return []
    if isinstance(body.get("data"), Mapping) and "data" in body["data"]:
        return [f"data.{k}" for k in _keys(body["data"])]
    keys: list[str] = []
    for name, value in body.items():
        if isinstance(value, list) and name != "links" and all(isinstance(v, Mapping) for v in value):
            continue  # the records themselves
        if isinstance(value, Mapping) and name in ("meta", "links"):
            keys.extend(f"{name}.{k}" for k in value)
        else:
            keys.append(str(name))
    return sorted(keys)


def _fields(target: Target, records: list[dict[str, Any]]) -> FieldCheck | None:
    if not records:
        return None
    present: set[str] = set().union(*(r.keys() for r in records))
    expected = set(target.expected)
    return FieldCheck(
        expected_from=target.expected_from,
        missing=[f for f in target.expected if f not in present],
        missing_key=[f for f in target.key if f not in present],
        extra=sorted(present - expected),
        present=sorted(present),
    )


# ---------------------------------------------------------------------- activities


def _activity_checks(
    report: ProbeReport,
    access: Reads,
    baseline: tuple[EndpointCheck, list[dict[str, Any]] | None],
    zone: ZoneInfo,
) -> None:
    """The time zone and filter checks, on small reads of ``/api/usercourses``."""
    check, records = baseline
    if records is None:
        return
    # Replies without paging metadata are complete when shorter than a full page: page 1's length.
    page_size = check.per_page or (len(records) or None)
    records = in_zone(records, zone)
    instants = any(_datetimes.offset_in(c.example) for c in check.datetimes if c.field == "updated_at")
    try:
        if instants:
            # Instants say nothing of the zone the filter reads; the filter check below does.
            report.timezone, newest = _instants(zone), None
        else:
            report.timezone, newest = _timezone.infer(
                ActivityReader(access, page_size, zone), access.last_date, zone
            )
        # The newest activity has few rows after it, so page 1 of the filter around it is telling;
        # and rows older than it on that page show a filter that is ignored.
        sample = newest or _newest(records)
        report.updated_at_filter = _filter.check(ActivityReader(access, page_size, zone), sample)
        if instants and report.updated_at_filter.verdict == "strict":
            # Only a strict result pins the clock: "inclusive" may be a filter reading a zone east
            # of the connection's with no activity in between (the date check then tells).
            report.timezone.matches_connection = True
    except SmartArenaError as err:
        report.notes.append(f"the activity checks stopped: {_message(err)}")


def _instants(zone: ZoneInfo) -> TimezoneCheck:
    offset = zone.utcoffset(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    return TimezoneCheck(
        verdict="instants",
        explanation=(
            "updated_at values carry a UTC offset (instants, as Laravel 7+ writes them): the provider "
            f"converts them to {zone.key}, and the filter check shows whether the server's updated_at "
            "filter reads that zone"
        ),
        configured=f"{zone.key} (UTC{_datetimes.format_offset(offset.total_seconds() if offset else 0)})",
    )


# ---------------------------------------------------------------------- paging and date fields


def _paging_check(access: Reads, hook: SmartArenaHook, body: Any) -> PagingCheck:
    """Name how ``/api/usercourses`` pages by asking for its page 2 as the hook would."""
    path = USER_COURSES.path
    records, meta = paging.parse_listing(body, method="GET", path=path)
    if not records:
        return PagingCheck("undetermined", problem=None)
    first = paging.Fetched(paging.Page(1, records, meta.last_page, meta.total), meta, paged=True)
    guard = paging.PageGuard(hook.max_pages, "GET", path)
    guard.admit(first)
    style: Any = paging.paging_style(meta)
    params = _params(hook, next(t for t in TARGETS if t.name == "usercourses"), short=False)
    try:
        step = paging.next_step(first, None, len(records))
        if step == "stop" and style != "pages":
            return PagingCheck(style)  # the server says there is no next page
        if style == "pages":
            params["page"], second = 2, "page=2"
        else:
            params.pop("page", None)
            params.update(paging.follow_query(meta, hook.base_url, path, "GET"))
            second = "the next link" if meta.next_link else "the next cursor"
        reply = access.get(path, params)
        more, next_meta = paging.parse_listing(reply.body, method="GET", path=path)
        fetched = paging.Fetched(paging.Page(2, more, next_meta.last_page, next_meta.total), next_meta, True)
        if not guard.admit(fetched):
            return PagingCheck("unpaged", second, len(more))
        paging.has_next(fetched, len(records), len(records) + len(more), path=path)
    except SmartArenaError as err:
        return PagingCheck("unsupported", problem=_message(err))
    return PagingCheck(style, second, len(more))


#: Date fields of activities (``date`` columns), checked against the connection's zone.
_DATE_FIELDS = tuple(name for name, kind in USER_COURSE_COLUMNS.items() if kind == "date")


def _date_check(records: list[dict[str, Any]], zone: ZoneInfo) -> DateFieldCheck | None:
    """Whether date values sent as instants are midnight in ``zone`` (else a day is off)."""
    result: DateFieldCheck | None = None
    for name in _DATE_FIELDS:
        check = DateFieldCheck(name)
        for record in records:
            value = record.get(name)
            if not isinstance(value, str) or not value:
                continue
            check.values += 1
            if len(value.strip()) <= 10 or not _datetimes.offset_in(value):
                continue
            check.instants += 1
            instant = _datetimes.parse(value)  # UTC wall clock
            local = _datetimes.parse(value, zone)
            if instant is None or local is None or local.time() == dt.time(0):
                continue
            check.not_midnight += 1
            check.example = check.example or value
            seconds = -(instant - instant.replace(hour=0, minute=0, second=0)).total_seconds()
            seconds = seconds + 86400 if seconds < -12 * 3600 else seconds
            check.offset = _datetimes.format_offset(seconds)
        if check.values and (result is None or check.instants):
            result = check
    return result


def _newest(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    dated = [(stamp, i) for i, r in enumerate(records) if (stamp := _datetimes.parse(r.get("updated_at")))]
    return records[max(dated)[1]] if dated else None


def _redact(report: ProbeReport, access: Reads) -> None:
    """Take every secret out of the texts that came from servers or exceptions."""
    for endpoint in report.endpoints:
        if endpoint.error:
            endpoint.error = access.redact(endpoint.error)
    if report.failure is not None:
        report.failure.message = access.redact(report.failure.message)
    report.notes = [access.redact(n) for n in report.notes]
    report.advice = [access.redact(a) for a in report.advice]
    report.verdict = access.redact(report.verdict)
