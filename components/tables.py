"""st.dataframe with the house rules for what a cell shows.

- A missing value (None, NaN, NaT, an empty string) shows "—". The grid would otherwise draw a grey
  English "None" (and leave its accessible copy empty).
- Dates show as 2023-11-01, times as 2023-11-01 08:30 in Beijing time, whatever type they arrive in.

Pages call `dataframe(...)` exactly as they would call `st.dataframe(...)`.
"""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from services import clock
from services.metrics import dashboard

MISSING = "—"


def _is_missing(value) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _cell(value):
    if _is_missing(value):
        return MISSING
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return clock.fmt(value) if value.tzinfo else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _column(col: pd.Series) -> pd.Series:
    numeric = pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
    if numeric and not col.isna().any():
        return col  # numbers and booleans without gaps keep their type (and their column_config format)
    out = col.astype(object).map(_cell)
    if numeric:
        # a number column with gaps: whole numbers stay whole, the rest get one decimal
        out = out.map(lambda v: v if v == MISSING else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"))
    return out


def shown(data):
    """The data as the grid should show it (a DataFrame, a Styler over one, or a list of rows)."""
    if isinstance(data, Styler):
        data.data = shown(data.data)
        return data
    if isinstance(data, (list, tuple)):
        data = pd.DataFrame(list(data))
    if isinstance(data, dict):
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        return data
    return data.apply(_column) if len(data.columns) else data


RED = "color: #C00000; font-weight: bold"


def red_rows(df: pd.DataFrame, flags: list[bool]):
    """The table with the flagged rows' text in red (a pandas Styler: no HTML)."""
    return df.style.apply(lambda row: [RED if flags[row.name] else ""] * len(row), axis=1)


def dataframe(data=None, **kwargs):
    return st.dataframe(shown(data), **kwargs)


# ---------------------------------------------------------------- one way to write a figure
def percent(rate: float | None) -> str:
    """A rate (0.985) as 98.5%; no rate (nothing to divide) as —."""
    return MISSING if _is_missing(rate) else dashboard.pct(rate)


def one_decimal(value: float | None) -> str:
    return MISSING if _is_missing(value) else f"{value:,.1f}"


def yuan(amount: float | None) -> str:
    return MISSING if _is_missing(amount) else f"¥{amount:,.2f}"
