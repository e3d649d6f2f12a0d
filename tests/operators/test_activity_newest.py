"""The activity sensor's ``newest_updated_at`` is on the server's wall clock, as documented."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from airflow_provider_smartarena.activity import _newest


def test_newest_of_laravel7_instants_is_on_the_servers_wall_clock() -> None:
    zone = ZoneInfo("Europe/Ljubljana")
    stamps = ["2026-11-05T23:00:00.000000Z", "2026-11-05 23:30:00", "2026-11-05T22:59:59Z"]
    # 23:00Z is midnight in Ljubljana: later than 23:30 local, and sent back as a local filter value.
    assert _newest(stamps, zone) == "2026-11-06 00:00:00"
    assert _newest(["2026-11-05 23:30:00"], zone) == "2026-11-05 23:30:00"
    assert _newest(["garbage", ""], zone) == "garbage"
    assert _newest([], zone) is None
