"""Operators of the Smart ARENA provider: records of every resource, enrolments and renames."""

from __future__ import annotations
