"""What a vendor profile remembers: how to recognise the vendor, the values a clerk taught that never
change from one invoice to the next, and where on the vendor's layout the per-invoice values sit.

Stored as ``vendor_profile`` items (``Repository.put_item``); every list is kept sorted and
de-duplicated so that learning the same record twice writes the same item.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# Values that are the same on every invoice of a vendor: a correction teaches the value itself.
CONSTANT_FIELDS: tuple[str, ...] = ("vendor_name", "vendor_vat_id", "vendor_address", "iban", "bic", "currency")
# Values that change per invoice: a correction teaches where the value sits and what it looks like.
POSITIONAL_FIELDS: tuple[str, ...] = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "po_number",
    "subtotal",
    "tax",
    "total",
    "amount_due",
    "buyer_name",  # a vendor may bill several of our entities: re-read where it is printed, never assumed
)

# (x0, top, x1, bottom) as shares of the page width / height, origin top-left.
NormBox = tuple[float, float, float, float]


class LearnedConstant(BaseModel):
    value: str
    learned_from: str = Field(description="the invoice id whose correction taught it")
    misreads: list[str] = Field(default_factory=list, description="values extraction gave that a clerk corrected")


class LearnedPosition(BaseModel):
    """Where a corrected value was printed on the teaching document, and the words that label it."""

    page: int
    box: NormBox
    label: str | None = Field(default=None, description="folded text of the words left of / above the value")
    label_box: NormBox | None = None
    shape: str | None = Field(default=None, description="regex the printed value matched, e.g. \\d{6}")
    words: int = 1  # how many words the printed value spanned
    day_first: bool | None = None  # dates: how the printed date was read
    negate: bool = False  # amounts: printed without the sign the record carries (credit notes)
    learned_from: str


class Layout(BaseModel):
    """One of the vendor's document layouts: its header fingerprint and the positions learned on it."""

    fingerprint: list[str]
    positions: dict[str, LearnedPosition] = Field(default_factory=dict)


class VendorProfile(BaseModel):
    key: str
    name: str | None = None
    # identity: what recognises the vendor before its extracted name is trusted
    names: list[str] = Field(default_factory=list, description="vendor keys, misread names included")
    vat_ids: list[str] = Field(default_factory=list)
    ibans: list[str] = Field(default_factory=list)
    senders: list[str] = Field(default_factory=list, description="mail addresses, lower case")
    domains: list[str] = Field(default_factory=list, description="sender domains (public mail services excluded)")
    # what corrections taught
    constants: dict[str, LearnedConstant] = Field(default_factory=dict)
    layouts: list[Layout] = Field(default_factory=list)
    learned_from: list[str] = Field(default_factory=list, description="invoice ids, sorted")
