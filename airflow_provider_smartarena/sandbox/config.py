"""Settings of one sandbox process: where it listens, who may log in, what data it seeds, which faults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_EPOCH = "2025-01-01 00:00:00"
ENVELOPES = ("mixed", "laravel", "data", "list", "cursor", "unpaged")


@dataclass(frozen=True)
class SeedSizes:
    """How much data the seeder generates; the same sizes and seed give the same data."""

    seed: int = 1
    users: int = 200
    branches: int = 20
    locations: int = 8
    workplaces: int = 12
    qualifications: int = 10
    content: int = 25
    courses: int = 20
    activities: int = 2000
    epoch: str = DEFAULT_EPOCH  # the seeded history ends here (server time zone); see docs/sandbox.md

    def replace(self, **changes: Any) -> SeedSizes:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown seed option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class FaultDefaults:
    """Fault and behaviour settings a process starts with (and returns to on /_sandbox/reset).

    The live values (``sandbox.faults.FaultSettings.current``) are of this type too.
    """

    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: str = "1"
    drop_rate: float = 0.0
    token_ttl: int = 3600
    envelope: str = "mixed"
    page_size: int = 100
    timezone: str = "UTC"
    seed: int = 0
    #: "N/S": at most N /api requests in a window of S seconds, Laravel's throttle ("" = none).
    throttle: str = ""
    #: Laravel 7+ serialisation of activities: UTC instants, date casts as local midnight in UTC.
    iso_datetimes: bool = False


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox process needs to start."""

    host: str = "127.0.0.1"
    port: int = 8765
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    sizes: SeedSizes = field(default_factory=SeedSizes)
    faults: FaultDefaults = field(default_factory=FaultDefaults)
    db: str | None = None
    freeze_time: str | None = None  # "YYYY-MM-DD HH:MM:SS" in the server time zone; None = real time
    access_log: bool = False
    live: float = 0.0  # learner activity changes a second made by the sandbox itself (0 = off)
