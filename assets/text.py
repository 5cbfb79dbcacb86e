"""Column-wise text helpers for the reasons and evidence the rules write per row.

Built over whole columns: a per-row Python loop costs seconds at 100,000 clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def formatted(values: pd.Series, fmt: Callable[[Any], str]) -> pd.Series:
    """Each value through `fmt`, as text (also when `values` is empty)."""
    return values.map(fmt).astype(str)


def when(mask: pd.Series, text: pd.Series) -> pd.Series:
    """`text` where `mask` holds, else the empty string."""
    return text.where(mask, "")


def joined(*parts: pd.Series, separator: str = "; ") -> pd.Series:
    """Join the non-empty parts of each row with `separator`."""
    out = parts[0]
    for part in parts[1:]:
        between = pd.Series(np.where((out != "") & (part != ""), separator, ""), index=out.index)
        out = out + between + part
    return out
