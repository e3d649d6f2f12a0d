"""Request counters for /_sandbox/stats (only /api and /oauth requests are counted)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.token_requests = 0
        self.writes = 0
        # The sandbox's own CPU: on a machine it shares with the client, what it leaves the client.
        self._cpu_start = time.process_time()

    def request(self, method: str, path: str) -> None:
        self.total += 1
        self.by_route[f"{method} {path}"] += 1
        if path.startswith("/oauth/"):
            self.token_requests += 1
        elif method in WRITE_METHODS:
            self.writes += 1

    def status(self, code: int) -> None:
        self.by_status[str(code)] += 1

    def fault(self, kind: str) -> None:
        self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_route": dict(sorted(self.by_route.items())),
            "by_status": dict(sorted(self.by_status.items())),
            "token_requests": self.token_requests,
            "writes": self.writes,
            "faults": dict(sorted(self.faults.items())),
            "cpu_seconds": round(time.process_time() - self._cpu_start, 4),
        }
