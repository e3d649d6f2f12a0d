"""From findings to advice: which provider settings to change, and what to report upstream."""

from __future__ import annotations

from airflow_provider_smartarena.probe import _datetimes
from airflow_provider_smartarena.probe.model import (
    DateFieldCheck,
    EndpointCheck,
    FilterCheck,
    PagingCheck,
    ProbeReport,
    TimezoneCheck,
)

#: A token living less than this is renewed so often that it is worth a note.
SHORT_TOKEN_SECONDS = 120.0


def advise(report: ProbeReport) -> None:
    """Fill ``report.advice``, ``report.notes`` and the one-line ``report.verdict``."""
    if report.failure is not None:
        report.verdict = f"FAILED: {report.failure.message}"
        return
    advice: list[str] = []
    for endpoint in report.endpoints:
        advice.extend(_endpoint_advice(endpoint))
    if report.timezone is not None:
        advice.extend(_timezone_advice(report.timezone))
    instants = report.timezone is not None and report.timezone.verdict == "instants"
    if report.updated_at_filter is not None:
        if instants and report.updated_at_filter.verdict in ("ignored", "misses"):
            advice.append(_instants_advice(report))
        else:
            advice.extend(_filter_advice(report.updated_at_filter))
    if report.dates is not None:
        advice.extend(_dates_advice(report.dates, report.connection_timezone))
    report.notes.extend(_token_notes(report))
    report.notes.extend(_rate_notes(report))
    report.advice = advice
    report.verdict = _verdict(report)


def _verdict(report: ProbeReport) -> str:
    if report.advice:
        steps = "; ".join(f"({i}) {a}" for i, a in enumerate(report.advice, 1))
        return f"CHANGE: {steps}"
    text = "OK: the tenant fits the provider's assumptions; no settings to change"
    zone = report.timezone
    if zone is not None and zone.matches_connection is None:
        text += f" (time zone not confirmed: {zone.verdict})"
    return text


def _endpoint_advice(endpoint: EndpointCheck) -> list[str]:
    where = f"GET {endpoint.path}"
    if not endpoint.reachable:
        status = f"HTTP {endpoint.status}" if endpoint.status else "no answer"
        hint = " (ask for the API client's access to it)" if endpoint.status in (401, 403) else ""
        return [f"{where} failed ({status}: {endpoint.error}){hint}"]
    advice: list[str] = []
    if endpoint.envelope == "unrecognised":
        advice.append(f"report an issue: the provider cannot read the reply of {where} ({endpoint.error})")
    elif endpoint.envelope == "unknown":
        keys = ", ".join(endpoint.paging_keys) or "none"
        advice.append(
            f"report an issue: {where} answers an undocumented list shape (other keys: {keys}); "
            "the provider reads it, but send a sample reply"
        )
    if endpoint.fields is not None and endpoint.fields.missing_key:
        lacking = ", ".join(endpoint.fields.missing_key)
        advice.append(
            f"report an issue: {endpoint.name} records lack {lacking}, which the provider relies on"
        )
    if endpoint.paging is not None:
        advice.extend(_paging_advice(where, endpoint.paging))
    for check in endpoint.datetimes:
        odd = [f for f in check.formats if not f.startswith("YYYY-MM-DD")]
        if odd:
            advice.append(
                f"report an issue: {endpoint.name}.{check.field} holds values the provider cannot read "
                f"as datetimes ({', '.join(odd)}, e.g. {check.example!r})"
            )
    return advice


def _paging_advice(where: str, paging: PagingCheck) -> list[str]:
    if paging.style != "unsupported":
        return []
    return [
        f"not supported: {where} cannot be read whole ({paging.problem}); the extraction would fail. "
        "Report an issue with a sample reply of pages 1 and 2"
    ]


def _instants_advice(report: ProbeReport) -> str:
    found = report.updated_at_filter.verdict if report.updated_at_filter else "undetermined"
    return (
        "set the connection's timezone extra to the application's time zone, the one the server's "
        "updated_at filter reads: updated_at values are UTC instants, and sent as filter values in "
        f"{report.connection_timezone} the filter {'missed' if found == 'misses' else 'ignored'} them"
    )


def _dates_advice(dates: DateFieldCheck, configured: str | None) -> list[str]:
    if not dates.not_midnight:
        return []
    return [
        f"set the connection's timezone extra to the tenant's zone (at UTC{dates.offset} on those dates): "
        f"{dates.field} values are instants that are midnight at UTC{dates.offset} (e.g. {dates.example!r}), "
        f"not in {configured}, so {dates.not_midnight} of {dates.instants} would be stored as the wrong day"
    ]


def _rate_notes(report: ProbeReport) -> list[str]:
    limit = report.rate_limit
    notes = []
    if "limit" in limit:
        notes.append(
            f"the server limits requests (X-RateLimit-Limit {limit['limit']}, remaining "
            f"{limit.get('remaining', '?')} after the probe): a large first load is paced by it"
        )
    if report.throttled:
        after = f" (Retry-After {limit['retry_after']} s)" if "retry_after" in limit else ""
        notes.append(f"{report.throttled} answer(s) were 429 Too Many Requests{after}")
    return notes


def _timezone_advice(zone: TimezoneCheck) -> list[str]:
    if zone.matches_connection is not False:
        return []
    if zone.verdict == "utc":
        return [
            "set the connection's timezone extra to UTC "
            f"(updated_at values are UTC; it says {zone.configured})"
        ]
    if zone.verdict == "local":
        examples = f" (e.g. {', '.join(zone.candidates)})" if zone.candidates else ""
        return [
            f"set the connection's timezone extra to the tenant's zone, at UTC{zone.offset} now{examples}; "
            f"it says {zone.configured}"
        ]
    ahead = _datetimes.format_offset(zone.ahead_seconds or 0.0)
    return [
        f"updated_at values run later than now in the connection's zone {zone.configured}: set the "
        f"timezone extra to the tenant's zone (at UTC{ahead} or east of it), or check for activities "
        "dated in the future"
    ]


def _filter_advice(check: FilterCheck) -> list[str]:
    if check.verdict == "misses":
        if check.overlap_needed_seconds:
            minutes = (check.overlap_needed_seconds - 1) / 60
            return [
                f"increase the extraction's overlap to more than {minutes:g} min (the updated_at filter "
                "misses activities stamped just after the value sent)"
            ]
        return [
            "report an issue: the updated_at filter misses activities stamped after the value sent; "
            "schedule the extraction's reconcile mode meanwhile"
        ]
    if check.verdict == "ignored":
        return [
            "report an issue: the updated_at filter returns activities stamped before the value sent "
            "(it is ignored, or reads the value in another time zone), so incremental runs re-read them"
        ]
    return []


def _token_notes(report: ProbeReport) -> list[str]:
    token = report.token
    if token is None or not token.ok:
        return []
    if token.expires_in is None:
        return ["the token reply has no usable expires_in: the hook renews the token only after a 401"]
    if token.expires_in < SHORT_TOKEN_SECONDS:
        return [f"the token lives {token.expires_in:.0f} s only: the hook renews it often"]
    return []
