"""Valid VAT rates per country: the EU member states, GB, CH and NO.

Rates in force on 2025-01-01 (European Commission "VAT rates applied in the Member States", and the
tax authorities of GB, CH and NO), plus the rates of each country's latest change before that date,
so that older invoices still match (e.g. DE 16 % / 5 % in the second half of 2020, LU 16 % in 2023,
CH 7.7 % before 2024, SK 20 % / 10 % before 2025). Zero is valid everywhere (exempt or reverse
charge). Percent values; update this table when a country changes its rates.
"""

from __future__ import annotations

from decimal import Decimal

TABLE_DATE = "2025-01-01"

_RATES = """
AT 20 13 10 | BE 21 12 6 | BG 20 9 | HR 25 13 5 | CY 19 9 5 3 | CZ 21 15 12 10 | DK 25 | EE 22 20 9 5
FI 25.5 24 14 10 | FR 20 10 5.5 2.1 | DE 19 16 7 5 | GR 24 17 13 9 6 4 | HU 27 18 5 | IE 23 13.5 9 4.8
IT 22 10 5 4 | LV 21 12 5 | LT 21 9 5 | LU 17 16 14 13 8 7 3 | MT 18 7 5 | NL 21 9 6 | PL 23 8 5
PT 23 22 16 13 12 9 6 5 4 | RO 19 9 5 | SK 23 20 19 10 5 | SI 22 9.5 5 | ES 21 10 5 4 | SE 25 12 6
GB 20 5 | CH 8.1 7.7 3.8 3.7 2.6 2.5 | NO 25 15 12
"""


def _parse(table: str) -> dict[str, tuple[Decimal, ...]]:
    rates: dict[str, tuple[Decimal, ...]] = {}
    for entry in table.replace("\n", " | ").split("|"):
        words = entry.split()
        if words:
            rates[words[0]] = (Decimal(0), *sorted(Decimal(w) for w in words[1:]))
    return rates


VAT_RATES: dict[str, tuple[Decimal, ...]] = _parse(_RATES)


def valid_rates(country: str) -> tuple[Decimal, ...] | None:
    """The valid rates (percent, ascending, 0 first) of a country code; None when not in the table."""
    return VAT_RATES.get(country.upper())
