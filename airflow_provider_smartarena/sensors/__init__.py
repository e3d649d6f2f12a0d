"""Sensors of the Smart ARENA provider: waiting on learning events."""

from __future__ import annotations
