"""The state of one running sandbox: data, clock, faults, stats, tokens and persistence."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from airflow_provider_smartarena.sandbox.auth import TokenRegistry
from airflow_provider_smartarena.sandbox.clock import SandboxClock, load_zone, parse_datetime
from airflow_provider_smartarena.sandbox.config import SandboxConfig, SeedSizes
from airflow_provider_smartarena.sandbox.faults import FaultSettings
from airflow_provider_smartarena.sandbox.persistence import SqlitePersistence
from airflow_provider_smartarena.sandbox.seed import seed_store
from airflow_provider_smartarena.sandbox.stats import Stats
from airflow_provider_smartarena.sandbox.store import Store


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = FaultSettings.from_defaults(config.faults)
        self.stats = Stats()
        self.tokens = TokenRegistry()
        self.sizes = config.sizes
        self.persistence = SqlitePersistence(config.db) if config.db else None
        self.loaded_from_db = False
        store = self.persistence.load() if self.persistence else None
        if self.persistence is not None and store is not None:
            self.loaded_from_db = True
            self.store = store
            self.clock = SandboxClock.restore(self.persistence.setting("clock") or {})
        else:
            self.store = seed_store(self.sizes)
            self.clock = self._initial_clock()
            self._save_all()

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.faults.current.timezone)

    def _initial_clock(self) -> SandboxClock:
        if self.config.freeze_time is None:
            return SandboxClock()
        epoch = parse_datetime(self.config.freeze_time, load_zone(self.config.faults.timezone))
        if epoch is None:
            raise ValueError(f"bad --freeze-time {self.config.freeze_time!r}; use 'YYYY-MM-DD HH:MM:SS'")
        return SandboxClock(frozen_at=float(epoch))

    def now(self) -> int:
        return self.clock.now_int()

    def reset(self, sizes: SeedSizes) -> None:
        """Re-seed the data and return faults, stats and the clock to the process's start values."""
        self.sizes = sizes
        self.store = seed_store(sizes)
        self.faults = FaultSettings.from_defaults(self.config.faults)
        self.stats.reset()
        self.clock = self._initial_clock()
        self._save_all()

    def replace_store(self, store: Store) -> None:
        self.store = store
        self._save_all()

    def commit(self) -> None:
        """Persist what changed (a no-op without --db)."""
        if self.persistence is not None:
            self.persistence.flush(self.store)
            self.persistence.save_setting("clock", self.clock.snapshot())

    def _save_all(self) -> None:
        if self.persistence is not None:
            self.persistence.save_all(self.store)
            self.persistence.save_setting("clock", self.clock.snapshot())
