"""Moved to :mod:`airflow_provider_smartarena.sync.source`; this module keeps the old import path working."""

from __future__ import annotations

from airflow_provider_smartarena.sync.source import (
    FORMATS,
    RawRow,
    Source,
    Unreadable,
    clean_rows,
    mask_passwords,
    parse_literal,
    parse_records,
    read_list,
    read_path,
    read_sql,
)

__all__ = [
    "FORMATS",
    "RawRow",
    "Source",
    "Unreadable",
    "clean_rows",
    "mask_passwords",
    "parse_literal",
    "parse_records",
    "read_list",
    "read_path",
    "read_sql",
]
