"""Tables of portal.imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant


class ImportRun(Base):
    """One upload of the monthly assistants file: dry run or applied, with its report."""

    __tablename__ = "import_runs"
    __table_args__ = (same_tenant("admin_id", "admins", beside_set_null=True),)  # staff import for their own tenant

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"), index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    dry_run: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rejected: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"line": n, "reason": "…"}]
    missing: Mapped[list[Any]] = mapped_column(JSON, default=list)  # identifiers absent from the file
