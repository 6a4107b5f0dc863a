"""Tables of portal.directory: the parents' search table, one row per published fiche.

A row is derived from the fiche, its account, its publication and its availability, rewritten
by `assmat.portal.directory.service.refresh_entries` in the same transaction as every change to
them; it holds only what a parent may know (the public position, never a hidden address)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant
from assmat.portal.profile.models import OFFER_CODES


class DirectoryEntry(Base):
    """A published fiche as the search reads it.

    `latitude`/`longitude` are the public position: the fiche's own point only while her address
    is shown, otherwise her commune's centre (`precision` says which); `grid_cell` is that
    position's 0.1° cell, indexed with the tenant, where a distance search starts. The
    availability part is the declaration's id (its places, summed up for the search, are in
    `DirectoryPlace`), « pas de disponibilité » and its `valid_until`: stale is « valid_until before today », decided when searching, since a flag
    stored yesterday would be wrong today. `published_until` is the last day of her agrément: an
    entry is never shown past it even before the nightly rebuild removes it."""

    __tablename__ = "directory_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        # Covering the distance search's steps: the cell, the box, the distance, the dates and what
        # the availability filter joins on are read from the index alone (a count with no offer or
        # name filter never reads the table).
        Index("ix_directory_entries_tenant_cell", "tenant_id", "grid_cell", "latitude", "longitude",
              "published_until", "valid_until", "none_available", "account_id"),
        Index("ix_directory_entries_tenant_insee", "tenant_id", "commune_insee"),
        Index("ix_directory_entries_tenant_postcode", "tenant_id", "postal_code"),
        # In the order of a page by name: past the cap, the page walks it and stops at 20.
        Index("ix_directory_entries_tenant_name", "tenant_id", "name_key", "id"),
        # « À domicile / en MAM »: the filter reads this column, never the MAM's members.
        Index("ix_directory_entries_tenant_in_mam", "tenant_id", "in_mam"),
        CheckConstraint("precision IN ('address', 'commune')", name="precision"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    public_id: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(201))  # as shown: « Anne Martin »
    name_key: Mapped[str] = mapped_column(String(201))  # lower case, no accents: « anne martin »
    commune_insee: Mapped[str | None] = mapped_column(String(5))
    commune_name: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    precision: Mapped[str | None] = mapped_column(String(10))  # address | commune | None: not located
    grid_cell: Mapped[int | None] = mapped_column(Integer)
    offer_periscolaire: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_mercredi: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_vacances_scolaires: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_temps_partiel: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_avant_7h: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_apres_20h: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_samedi: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_dimanche: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_nuit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_depannage_urgence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    offer_handicap: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    declaration_id: Mapped[int | None]  # her availability declaration, if any
    none_available: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    valid_until: Mapped[date | None]  # the declaration's end of validity: stale after it
    published_until: Mapped[date | None]  # her agrément's end; None: open-ended
    updated_on: Mapped[date | None]  # the fiche's last update, shown on the card
    in_mam: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # she works in a MAM
    refreshed_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


# The weekly grid of a place as one integer: bit `weekday * SLOT_BITS + i` for the tenant's i-th
# time slot (at most SLOT_BITS of them, so 7 × 9 = 63 bits fit a signed BIGINT).
SLOT_BITS = 9


class DirectoryPlace(Base):
    """A place of a published fiche's current declaration, as the search filters it: its age
    group, its dates, its weekly grid as a bitmask (see `SLOT_BITS`) and her entry's public
    position. Rewritten with the
    entry (no row for a declaration of « pas de disponibilité »); the places shown on a result
    card are still read from availability's own table, one query per page.

    The mask follows the order of the tenant's `availability.time_slots`: a change to that list
    takes effect for the search with `assmat directory-rebuild` (nightly, and after a deploy)."""

    __tablename__ = "directory_entry_places"
    __table_args__ = (
        # The availability filter by commune or name: one account's places, from the index alone.
        Index("ix_directory_entry_places_lookup", "tenant_id", "account_id", "age_group", "free_from",
              "free_until", "slot_mask"),
        # By distance, the places are searched first, as the entries are: the radius's cells, the
        # age group, the box, the dates and the grid from the index alone; then their entries.
        Index("ix_directory_entry_places_cell", "tenant_id", "grid_cell", "age_group", "latitude", "longitude",
              "free_from", "free_until", "slot_mask", "account_id"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    age_group: Mapped[str] = mapped_column(String(40))
    free_from: Mapped[date | None]  # None: free now
    free_until: Mapped[date | None]  # None: open-ended
    slot_mask: Mapped[int] = mapped_column(BigInteger)  # 0: no weekly grid ticked
    # Her entry's public position, copied: where a distance search finds the place.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    grid_cell: Mapped[int | None] = mapped_column(Integer)


assert all(hasattr(DirectoryEntry, f"offer_{code}") for code in OFFER_CODES), "one column per offer flag"
