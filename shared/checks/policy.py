"""The tunable limits of the fraud and matching checks, read from settings once per check run.

* ``duplicate_window_days``: two invoices of one vendor with the same amount and invoice numbers that
  differ only in formatting are near duplicates when their dates are at most this many days apart.
* ``new_vendor_high_amount``: a vendor with no master entry and no earlier invoice asking for at least
  this much is worth a second look (compared in the invoice's own currency, no FX conversion).
* ``amount_outlier_factor``: a total this many times the vendor's median (or more) is an outlier.
* ``po_price_tolerance_pct`` / ``po_quantity_tolerance``: how far an invoice line may exceed the purchase
  order's unit price (percent) and the ordered or received quantity (units) before it is a variance.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.settings import Settings


class CheckPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    duplicate_window_days: int = Field(default=60, ge=0)
    new_vendor_high_amount: Decimal = Field(default=Decimal("5000"), ge=0)
    amount_outlier_factor: Decimal = Field(default=Decimal("3"), gt=1)
    po_price_tolerance_pct: Decimal = Field(default=Decimal("2"), ge=0)
    po_quantity_tolerance: Decimal = Field(default=Decimal("0"), ge=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckPolicy:
        return cls(
            duplicate_window_days=settings.duplicate_window_days,
            new_vendor_high_amount=settings.new_vendor_high_amount,
            amount_outlier_factor=settings.amount_outlier_factor,
            po_price_tolerance_pct=settings.po_price_tolerance_pct,
            po_quantity_tolerance=settings.po_quantity_tolerance,
        )
