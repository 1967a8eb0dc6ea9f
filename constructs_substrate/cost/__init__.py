"""What an app will cost: a monthly estimate per stack, by line item, from the
synthesized Terraform JSON and a small price table (see docs/cost.md).

Framework-free (standard library only)::

    from constructs_substrate.cost import estimate, read_stacks
    print(estimate(read_stacks("cdktf.out")).monthly_usd)
"""

from __future__ import annotations

from .estimate import (
    ESTIMATE_FILE,
    FREE_TYPES,
    PRICED_TYPES,
    Assumptions,
    Estimate,
    LineItem,
    StackEstimate,
    budget_limit,
    estimate,
    estimate_stack,
    read_stacks,
)
from .prices import PRICE_DATE, PRICES, Price, PriceTable

__all__ = [
    "Assumptions",
    "ESTIMATE_FILE",
    "Estimate",
    "FREE_TYPES",
    "LineItem",
    "PRICED_TYPES",
    "PRICES",
    "PRICE_DATE",
    "Price",
    "PriceTable",
    "StackEstimate",
    "budget_limit",
    "estimate",
    "estimate_stack",
    "read_stacks",
]
