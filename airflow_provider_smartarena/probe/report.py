"""The probe's report for people (a plain-text table) and for machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from airflow_provider_smartarena.probe._datetimes import format_span
from airflow_provider_smartarena.probe.model import EndpointCheck, FilterCheck, ProbeReport, TimezoneCheck

_HEADERS = ("endpoint", "status", "envelope", "page 1", "per_page", "total", "fields vs expected")
_LABEL = 14  # width of the labels of the sections below the table


def to_json(report: ProbeReport) -> str:
    """The report as indented JSON."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str)


def write_json(report: ProbeReport, path: str | Path) -> None:
    """Write the report as JSON to ``path``."""
    Path(path).write_text(to_json(report) + "\n", encoding="utf-8")


def render(report: ProbeReport) -> str:
    """The report as a plain-text table with a few sections, ending with the verdict line."""
    lines = [_title(report)]
    if report.failure is None:
        lines += _header_lines(report)
        lines += ["", *_table([_row(e) for e in report.endpoints])]
        paging = _paging_rows(report.endpoints)
        lines += ["", "Paging metadata:", *(f"  {names}: {keys}" for names, keys in paging)] if paging else []
        lines += _section("Fields", list(_field_rows(report.endpoints)))
        lines += _section("Datetimes", list(_datetime_rows(report.endpoints)))
        lines += _activity_lines(report.timezone, report.updated_at_filter)
        lines += _paging_lines(report)
        lines += _section("Notes", [("", n) for n in report.notes] + _endpoint_notes(report.endpoints))
        lines += ["", _label("Requests", _requests(report))]
    lines += ["", f"Verdict: {report.verdict}"]
    return "\n".join(lines)


def _title(report: ProbeReport) -> str:
    where = report.base_url or f"connection {report.conn_id!r}"
    who = f", client {report.client_id!r}" if report.client_id else ""
    zone = f", connection timezone {report.connection_timezone}" if report.connection_timezone else ""
    return f"Smart ARENA probe ({report.mode}) of {where}{who}{zone}"


def _header_lines(report: ProbeReport) -> list[str]:
    token = report.token
    lifetime = "no usable expires_in"
    if token is not None and token.expires_in is not None:
        lifetime = f"expires_in {token.expires_in:.0f} s"
    return [
        _label("Token", f"OK, {lifetime}"),
        _label("Server clock", report.server_date or "no Date header"),
    ]


def _row(endpoint: EndpointCheck) -> tuple[str, ...]:
    def number(value: int | None) -> str:
        return "-" if value is None else str(value)

    status = str(endpoint.status or "-") if endpoint.reachable else f"{endpoint.status or 'ERR'}"
    fields = endpoint.fields
    summary = f"{len(fields.missing)} missing, {len(fields.extra)} extra" if fields else "-"
    if not endpoint.reachable:
        summary = f"error: {endpoint.error}"
    return (
        endpoint.name,
        status,
        endpoint.envelope or "-",
        number(endpoint.records),
        number(endpoint.per_page),
        number(endpoint.total),
        summary,
    )


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in (_HEADERS, *rows)) for i in range(len(_HEADERS))]
    numeric = {3, 4, 5}

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(_HEADERS), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


def _section(title: str, rows: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return []
    width = max(len(name) for name, _ in rows)
    return ["", f"{title}:", *(f"  {name.ljust(width)}  {text}".rstrip() for name, text in rows)]


def _paging_rows(endpoints: Iterable[EndpointCheck]) -> list[tuple[str, str]]:
    """Endpoints with the same paging keys share a row: a paginator's dozen keys, shown once."""
    groups: dict[str, list[str]] = {}
    for endpoint in endpoints:
        if endpoint.paging_keys:
            groups.setdefault(", ".join(endpoint.paging_keys), []).append(endpoint.name)
    return [(", ".join(names), keys) for keys, names in groups.items()]


def _field_rows(endpoints: Iterable[EndpointCheck]) -> Iterable[tuple[str, str]]:
    for endpoint in endpoints:
        fields = endpoint.fields
        if fields is None:
            continue
        missing = ", ".join(fields.missing) or "none"
        extra = ", ".join(fields.extra) or "none"
        yield endpoint.name, f"missing: {missing}; extra: {extra}"


def _datetime_rows(endpoints: Iterable[EndpointCheck]) -> Iterable[tuple[str, str]]:
    for endpoint in endpoints:
        for check in endpoint.datetimes:
            formats = ", ".join(f"{f} ({n})" for f, n in check.formats.items()) or "all null"
            tag = "as documented" if check.documented else "NOT as documented"
            example = f", e.g. {check.example}" if check.example else ""
            offsets = f", offsets {', '.join(check.offsets)}" if check.offsets else ""
            yield f"{endpoint.name}.{check.field}", f"{formats}: {tag}{example}{offsets}"


def _activity_lines(zone: TimezoneCheck | None, check: FilterCheck | None) -> list[str]:
    lines: list[str] = []
    if zone is not None:
        lines += ["", _label("Time zone", f"{zone.verdict}: {zone.explanation}")]
        if zone.newest_updated_at is not None and zone.ahead_seconds is not None:
            exact = "" if zone.exact else " (within a minute)"
            lines.append(_label("", (
                f"newest updated_at {zone.newest_updated_at}{exact} vs Date {zone.server_date}: "
                f"{format_span(zone.ahead_seconds)}"
            )))  # fmt: skip
        agree = {True: "agrees", False: "DISAGREES", None: "cannot be checked"}[zone.matches_connection]
        lines.append(_label("", f"connection timezone {zone.configured}: {agree}"))
    if check is not None:
        sample = check.sample
        tried = ""
        if sample:
            tried = f" [sample {sample.get('user_mapping_code')}/{sample.get('course_mapping_code')}]"
        lines += [
            "",
            _label("updated_at", f"{check.verdict}: {check.explanation}{tried}"),
        ]
    return lines


def _paging_lines(report: ProbeReport) -> list[str]:
    """How usercourses pages, what its date fields hold, and the server's rate limit."""
    lines: list[str] = []
    paging = next((e.paging for e in report.endpoints if e.paging is not None), None)
    if paging is not None:
        second = f"; {paging.second}: {paging.second_records} records" if paging.second else ""
        problem = f" ({paging.problem})" if paging.problem else ""
        lines += ["", _label("Paging", f"{paging.style}{second}{problem}")]
    if report.dates is not None and report.dates.instants:
        dates = report.dates
        lines.append(_label("Dates", (
            f"{dates.field}: {dates.instants} of {dates.values} sent as instants; "
            f"{dates.not_midnight} not midnight in {report.connection_timezone}"
        )))  # fmt: skip
    if report.rate_limit or report.throttled:
        limit = ", ".join(f"{k} {v}" for k, v in report.rate_limit.items())
        lines.append(_label("Rate limit", f"{limit or 'no headers'}; {report.throttled} answer(s) 429"))
    return lines


def _endpoint_notes(endpoints: Iterable[EndpointCheck]) -> list[tuple[str, str]]:
    return [(e.name, note) for e in endpoints for note in e.notes]


def _requests(report: ProbeReport) -> str:
    token = report.requests.get("token", 0)
    gets = report.requests.get("get", 0)
    plural = "s" if token != 1 else ""
    return f"{token} token request{plural}, {gets} GET, nothing written ({report.duration_ms} ms)"


def _label(name: str, text: str) -> str:
    return f"{name.ljust(_LABEL)}{text}"
