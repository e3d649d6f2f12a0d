"""The probe's report: plain dataclasses, turned into JSON by :meth:`ProbeReport.to_dict`.

Nothing here holds a token or a client secret: the probe never stores them, and every message that
came from elsewhere (a server, an exception) is passed through a redactor before it lands here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

#: What an endpoint's list reply looked like. ``unknown``: an object holding one list of records
#: (the hook reads it, but it is not a documented shape); ``unrecognised``: the hook cannot read it.
Envelope = Literal["list", "data", "paginator", "unknown", "unrecognised"]

#: How ``updated_at`` values relate to UTC (see :mod:`airflow_provider_smartarena.probe._timezone`).
ZoneVerdict = Literal[
    "utc", "local", "ahead", "behind", "no-recent-data", "future-rows", "undetermined", "instants"
]

#: How the ``updated_at`` filter behaved on a sample (see :mod:`airflow_provider_smartarena.probe._filter`).
FilterVerdict = Literal["strict", "inclusive", "misses", "ignored", "undetermined"]

#: Why a probe could not run at all.
FailureKind = Literal["config", "auth", "tls", "unreachable", "error"]


@dataclass
class Failure:
    """Why the probe stopped before checking any endpoint.

    :param kind: ``config`` (the connection is unusable), ``auth`` (credentials refused), ``tls``
        (certificate not verified), ``unreachable`` (no connection), ``error`` (anything else).
    :param message: one line for a person, naming the URL and what to check.
    """

    kind: FailureKind
    message: str


@dataclass
class TokenCheck:
    """The token request.

    :param expires_in: the lifetime the server announced, seconds; None when absent or unusable
        (the hook then renews the token only after a 401).
    """

    ok: bool
    expires_in: float | None = None


@dataclass
class FieldCheck:
    """A page's record fields against the ones the provider expects.

    :param expected_from: where the expected list comes from (API document or the provider's use).
    :param missing_key: missing fields the provider cannot do without (keys, ``updated_at``).
    """

    expected_from: str
    missing: list[str] = dataclasses.field(default_factory=list)
    missing_key: list[str] = dataclasses.field(default_factory=list)
    extra: list[str] = dataclasses.field(default_factory=list)
    present: list[str] = dataclasses.field(default_factory=list)


@dataclass
class DatetimeCheck:
    """The format of one datetime field over the records of a page.

    :param formats: each format seen (e.g. ``YYYY-MM-DD HH:MM:SS``) with how many values had it.
    :param documented: every non-null value has the documented ``YYYY-MM-DD HH:MM:SS`` form.
    :param offsets: UTC offsets written in the values themselves (``Z``, ``+02:00``), if any.
    """

    field: str
    formats: dict[str, int]
    example: str | None
    nulls: int
    documented: bool
    offsets: list[str] = dataclasses.field(default_factory=list)


@dataclass
class EndpointCheck:
    """One list endpoint, read once (page 1).

    :param status: the HTTP status of the answer, when there was one (200 stands for any 2xx).
    :param error: what went wrong, in one line, when the read failed.
    :param paging_keys: the keys of the reply besides the records (paginator metadata).
    :param records: records on page 1.
    :param per_page: the page size the paginator announced.
    """

    name: str
    path: str
    reachable: bool
    status: int | None = None
    error: str | None = None
    envelope: Envelope | None = None
    paging_keys: list[str] = dataclasses.field(default_factory=list)
    records: int | None = None
    per_page: int | None = None
    total: int | None = None
    last_page: int | None = None
    fields: FieldCheck | None = None
    datetimes: list[DatetimeCheck] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    paging: PagingCheck | None = None


#: How a listing is walked (see :class:`PagingCheck`).
PagingStyle = Literal["pages", "links", "cursor", "unpaged", "one-page", "unsupported", "undetermined"]


@dataclass
class PagingCheck:
    """How ``/api/usercourses`` pages, from page 1 and one more request (page 2, its link or cursor).

    :param style: ``pages`` (page numbers), ``links`` (next links without page numbers),
        ``cursor`` (``next_cursor``), ``unpaged`` (a bare list whose page 2 is exactly page 1),
        ``unsupported`` (the hook would fail: see ``problem``), ``undetermined`` (no activities).
    :param second: what the second request asked for (``page=2``, ``the next link``, ``cursor``).
    :param second_records: records on that second page.
    :param problem: why the extraction could not read this listing whole, when it could not.
    """

    style: PagingStyle
    second: str | None = None
    second_records: int | None = None
    problem: str | None = None


@dataclass
class DateFieldCheck:
    """Date fields (``access_end_date``) read as the provider reads them, in the connection's zone.

    :param instants: date values that carry a time and an offset (Laravel 7+: local midnight in UTC).
    :param not_midnight: of those, how many are not midnight in the connection's zone (they would
        be stored as the wrong day); ``offset`` is the UTC offset at which they are midnight.
    """

    field: str
    values: int = 0
    instants: int = 0
    not_midnight: int = 0
    example: str | None = None
    offset: str | None = None


@dataclass
class TimezoneCheck:
    """Whether ``updated_at`` values are written in UTC or in local time.

    :param configured: the connection's ``timezone`` extra and its offset now (``UTC+01:00``).
    :param server_date: the server's ``Date`` header, as UTC.
    :param newest_updated_at: the newest ``updated_at`` found near the server's clock, as sent.
    :param ahead_seconds: how far that value is ahead of the server's clock read as UTC (negative:
        behind).
    :param offset: the UTC offset the values appear to carry (``+01:00``), when one could be named.
    :param matches_connection: whether that agrees with the connection's time zone (None: cannot tell).
    :param candidates: example IANA zones at ``offset`` now.
    :param requests: GET requests the inference made.
    """

    verdict: ZoneVerdict
    explanation: str
    configured: str
    server_date: str | None = None
    newest_updated_at: str | None = None
    exact: bool = False
    ahead_seconds: float | None = None
    offset: str | None = None
    matches_connection: bool | None = None
    candidates: list[str] = dataclasses.field(default_factory=list)
    requests: int = 0


@dataclass
class FilterCheck:
    """Whether ``updated_at=V`` means "changed strictly after V", tried on one activity.

    :param sample: the activity tried (its user and course mapping codes) and its ``updated_at``.
    :param overlap_needed_seconds: for ``misses``, the smallest overlap of those tried that would
        not have lost it (a margin below ``V-1s`` that returned it, plus that second).
    """

    verdict: FilterVerdict
    explanation: str
    sample: dict[str, Any] = dataclasses.field(default_factory=dict)
    overlap_needed_seconds: int | None = None
    requests: int = 0


@dataclass
class ProbeReport:
    """Everything the probe found, and what to change.

    :param mode: ``full`` (every check) or ``short`` (token and reachability, for ``test_connection``).
    :param advice: provider settings to change or problems to report; empty when all fits.
    :param verdict: one line summing up ``advice`` (or the failure).
    :param requests: requests made: ``token``, ``get``; the probe never writes.
    """

    base_url: str | None
    client_id: str | None
    conn_id: str
    connection_timezone: str | None
    mode: Literal["full", "short"]
    started_at: str
    duration_ms: int = 0
    failure: Failure | None = None
    token: TokenCheck | None = None
    server_date: str | None = None
    endpoints: list[EndpointCheck] = dataclasses.field(default_factory=list)
    timezone: TimezoneCheck | None = None
    updated_at_filter: FilterCheck | None = None
    dates: DateFieldCheck | None = None
    #: ``limit``, ``remaining`` (X-RateLimit-* headers) and ``retry_after`` of a 429, when sent.
    rate_limit: dict[str, str] = dataclasses.field(default_factory=dict)
    throttled: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    advice: list[str] = dataclasses.field(default_factory=list)
    verdict: str = ""
    requests: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The probe ran, every endpoint answered, and no setting needs changing."""
        return self.failure is None and all(e.reachable for e in self.endpoints) and not self.advice

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the same content as the terminal table)."""
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data

    def connection_test(self) -> tuple[bool, str]:
        """The ``(ok, message)`` pair :meth:`SmartArenaHook.test_connection` returns, from a short probe."""
        if self.failure is not None:
            return False, self.failure.message
        answered = [e for e in self.endpoints if e.reachable]
        failed = [e for e in self.endpoints if not e.reachable]
        lifetime = self.token.expires_in if self.token else None
        token = f"token obtained (expires in {lifetime:.0f} s)" if lifetime else "token obtained"
        head = f"Connected to {self.base_url} as client {self.client_id!r}: {token}"
        if failed:
            errors = "; ".join(f"{e.path}: {e.error}" for e in failed)
            return False, f"{head}, but {len(failed)} of {len(self.endpoints)} endpoints failed: {errors}"
        if not any(e.status is not None and e.status < 300 for e in answered):
            return False, f"{head}, but every endpoint answered 404: check the base URL's path"
        return True, (
            f"{head} and {len(answered)} of {len(self.endpoints)} endpoints answered ({self.duration_ms} ms)."
        )
