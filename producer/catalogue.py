"""The shop's product catalogue: eight products with a base price, in ``data/products.csv``.

The file is the single source: notebooks show it, the feed draws from it. Each product's
category must be one of the contract's categories (``labsupport.schema.PRODUCT_CATEGORIES``).

>>> [product.product_category for product in load_catalogue()][:2]
['Electronics', 'Electronics']
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from labsupport.config import CATALOGUE_FILE
from labsupport.errors import LabError
from labsupport.schema import PRODUCT_CATEGORIES

__all__ = ["PRICE_VARIANCE", "Product", "load_catalogue"]

#: Unit prices vary within ±15 % of the base price (dynamic pricing and promotions).
PRICE_VARIANCE = 0.15
_COLUMNS = ("product_id", "product_name", "product_category", "base_price")


@dataclass(frozen=True)
class Product:
    """One catalogue row. Prices are kept in whole cents inside the feed, so totals add up exactly."""

    product_id: str
    product_name: str
    product_category: str
    base_price: float

    @property
    def base_cents(self) -> int:
        return round(self.base_price * 100)

    @property
    def price_band_cents(self) -> tuple[int, int]:
        """The lowest and highest unit price in cents: within ±15 % of the base price."""
        base = self.base_cents
        low_percent, high_percent = (
            round(100 * (1 - PRICE_VARIANCE)),
            round(100 * (1 + PRICE_VARIANCE)),
        )
        return -(-base * low_percent // 100), base * high_percent // 100


def load_catalogue(path: Path | str | None = None) -> list[Product]:
    """Read the catalogue (``data/products.csv`` by default); LabError when a row breaks the contract."""
    path = Path(path) if path is not None else CATALOGUE_FILE
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != _COLUMNS:
                raise LabError(
                    f"{path}: the header must be {','.join(_COLUMNS)}, not {','.join(reader.fieldnames or ())}"
                )
            rows = list(reader)
    except FileNotFoundError:
        raise LabError(f"The product catalogue {path} is missing: restore it from git.") from None
    products = []
    for line, row in enumerate(rows, start=2):
        category = row["product_category"]
        if category not in PRODUCT_CATEGORIES:
            raise LabError(
                f"{path}:{line}: category {category!r} is not one of {', '.join(PRODUCT_CATEGORIES)}"
            )
        try:
            base_price = float(row["base_price"])
        except ValueError:
            raise LabError(
                f"{path}:{line}: base_price {row['base_price']!r} is not a number"
            ) from None
        if base_price <= 0 or not row["product_id"] or not row["product_name"]:
            raise LabError(
                f"{path}:{line}: needs a product_id, a product_name and a positive base_price"
            )
        products.append(Product(row["product_id"], row["product_name"], category, base_price))
    if not products:
        raise LabError(f"{path}: the catalogue has no products")
    if len({product.product_id for product in products}) != len(products):
        raise LabError(f"{path}: product_id values must be unique")
    return products
