"""The hook's reading of list envelopes, public for tools that read listings page by page themselves.

:meth:`SmartArenaHook.iter_records <airflow_provider_smartarena.hooks.SmartArenaHook.iter_records>`
pages through a listing on its own; a caller that sends each page itself with
:meth:`SmartArenaHook.request <airflow_provider_smartarena.hooks.SmartArenaHook.request>` (the
probe, which must see every envelope) uses these to interpret the replies exactly as the hook does:

* :func:`parse_listing` finds the records and the paginator metadata (:class:`PageMeta`) in a body;
* :func:`paging_style` names how the server pages (by number, by next link, by cursor);
* :func:`follow_query` turns a next link or cursor into the query of the next request;
* :func:`has_next` and :func:`next_step` decide whether another page is needed;
* :class:`PageGuard` tells a page that repeats the previous one (a server ignoring ``page``).

A page is handed to these as a :class:`Fetched` (the :class:`Page`, its metadata, and whether the
request carried ``page``).
"""

from __future__ import annotations

from typing import Literal

from airflow_provider_smartarena.hooks._paging import (
    Fetched,
    Page,
    PageMeta,
    follow_query,
    has_next,
    next_step,
    parse_listing,
)
from airflow_provider_smartarena.hooks._paging import _Guard as PageGuard

__all__ = [
    "Fetched",
    "Page",
    "PageGuard",
    "PageMeta",
    "PagingStyle",
    "follow_query",
    "has_next",
    "next_step",
    "paging_style",
    "parse_listing",
]

#: How a listing reaches its next page: ``page=N``, the server's next link, or its next cursor.
PagingStyle = Literal["pages", "links", "cursor"]


def paging_style(meta: PageMeta) -> PagingStyle:
    """How the server that sent ``meta`` pages: by number unless it gives only a link or a cursor.

    :param meta: the metadata of a listing's first page, from :func:`parse_listing`.
    """
    if not meta.follows_links:
        return "pages"
    return "cursor" if meta.has_cursor else "links"
