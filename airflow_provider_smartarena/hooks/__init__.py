"""Hooks of the Smart ARENA provider."""

from __future__ import annotations

from airflow_provider_smartarena.hooks._transport import Reply
from airflow_provider_smartarena.hooks.smartarena import Outcome, Page, SmartArenaHook

__all__ = ["Outcome", "Page", "Reply", "SmartArenaHook"]
