"""Charts and exports drawn from cached aggregates.

Turning an Altair chart into the Vega-Lite spec Streamlit sends (`to_dict`, with Altair's JSON-schema
validation) took 50-150 ms per chart, 0.4-0.6 s per run of the dashboard, on every rerun, even when
the figures came from the cache. `show` keeps the finished spec per (chart builder, its arguments) in
`st.cache_data` and hands it to `st.vega_lite_chart`, which is what `st.altair_chart` calls after the
conversion, so the chart, its key and its selection behave as before.

Only aggregates may be passed (counts, rates, unit names): the cache is shared by every user, and its
key is the data itself, so two users see the same chart only when they asked for the same figures.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

from services.metrics import dashboard


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _spec(builder: str, args: tuple, kwargs: dict) -> dict:
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec
    module, name = builder.split(":")
    chart = getattr(importlib.import_module(module), name)(*args, **kwargs)
    return _convert_altair_to_vega_lite_spec(chart)


def show(build: Callable, *args, where=None, **chart_kwargs):
    """`where.altair_chart(build(*args), **chart_kwargs)`, with the chart's spec from the cache."""
    spec = _spec(f"{build.__module__}:{build.__qualname__}", args, {})
    return (where or st).vega_lite_chart(spec=dict(spec), **chart_kwargs)


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def export_xlsx(title: str, period: dashboard.Period, scope_name: str, header: list[str],
                rows: list[list], formats: list[str | None] | None = None,
                row_formats: list[str | None] | None = None) -> dashboard.Export:
    """dashboard.export_xlsx, built once per table and period (aggregates only, checked there)."""
    return dashboard.export_xlsx(title, period, scope_name, header, rows, formats=formats, row_formats=row_formats)
