"""Date inputs that pass what was typed on to the service.

st.date_input limits typing to min_value..max_value (by default ten years either side of its value)
and silently keeps its old value when a typed date falls outside: 2099-01-01 typed in 接报日期 saved
today's date. Dates that users type get this wide range instead; the service checks the real
range and answers in Chinese beside the field.
"""
import datetime as dt

ANY_DATE = {"min_value": dt.date(1900, 1, 1), "max_value": dt.date(2999, 12, 31)}


def month_picker(label: str, key: str, years: int = 6, where=None) -> dt.date:
    """A month as two short selects, 年 and 月, opening at the last completed month (a list of 72
    months had to be scrolled to reach 2023). Returns the month's first day; the service decides
    which months are allowed (a future month gets its Chinese error there)."""
    import streamlit as st

    from services import clock

    where = where or st
    today = clock.today()
    last = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    year_opts = list(range(today.year, today.year - years, -1))
    c1, c2 = where.columns(2)
    year = c1.selectbox(f"{label}（年）", year_opts, index=year_opts.index(last.year), key=f"{key}_year",
                        format_func=lambda y: f"{y}年", placeholder="请选择年份")
    month = c2.selectbox(f"{label}（月）", list(range(1, 13)), index=last.month - 1, key=f"{key}_mon",
                         format_func=lambda m: f"{m}月", placeholder="请选择月份")
    return dt.date(year, month, 1)
