"""« Something a derived table reads has changed »: the services that write a fiche, its
publication, its availability or an import call `fiche_changed`, in their own transaction, and
the feature that keeps a derived table (the parents' search table, assmat.portal.directory)
registers the one function that brings it up to date.

Why a call and not a session hook: the import writes in bulk (`insert`/`update` statements),
which no flush event sees, and a `before_flush` hook cannot await the queries an entry needs.
Why through here: the search reads the fiche, the publication rule and the availability, so it
sits above them; they call down into the core, and the search plugs itself in at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

# (db, tenant, account ids or None for every account of the tenant)
Refresher = Callable[[Any, Any, "list[int] | None"], Awaitable[None]]
_refreshers: list[Refresher] = []


def on_fiche_change(refresher: Refresher) -> Refresher:
    """Register `refresher` (once: registering it again changes nothing)."""
    if refresher not in _refreshers:
        _refreshers.append(refresher)
    return refresher


async def fiche_changed(db: Any, tenant: Any, account_ids: Iterable[int] | None) -> None:
    """Bring every derived table up to date for these accounts (None: the whole tenant), in the
    caller's transaction: the caller commits, or rolls both back."""
    ids = None if account_ids is None else sorted(set(account_ids))
    for refresher in _refreshers:
        await refresher(db, tenant, ids)
