"""Triggers of the Smart ARENA provider, for the deferrable sensors."""

from __future__ import annotations
