"""A read-only probe of a Smart ARENA tenant: does it fit the provider's assumptions?

``probe(hook)`` returns a :class:`ProbeReport` (list envelopes and paging metadata, page sizes,
record fields, datetime formats, time zone of ``updated_at``, semantics of the ``updated_at`` filter,
token lifetime, and the provider settings to change). ``smartarena-probe`` is its command line.
"""

from __future__ import annotations

from airflow_provider_smartarena.probe.checks import probe
from airflow_provider_smartarena.probe.model import (
    DatetimeCheck,
    EndpointCheck,
    Failure,
    FieldCheck,
    FilterCheck,
    ProbeReport,
    TimezoneCheck,
    TokenCheck,
)

__all__ = [
    "DatetimeCheck",
    "EndpointCheck",
    "Failure",
    "FieldCheck",
    "FilterCheck",
    "ProbeReport",
    "TimezoneCheck",
    "TokenCheck",
    "probe",
]
