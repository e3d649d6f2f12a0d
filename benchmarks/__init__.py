"""Benchmarks of the provider against what a user would otherwise write (``make bench``).

Measurements, not tests: ``python -m benchmarks --quick`` writes ``docs/benchmarks.md``. The
scripts beside this file (``extraction.py``, ``hook_streaming.py``, ``sync.py``) also run alone.
"""

from __future__ import annotations
