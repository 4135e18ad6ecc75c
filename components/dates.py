"""Date inputs that pass what was typed on to the service.

st.date_input limits typing to min_value..max_value (by default ten years either side of its value)
and silently keeps its old value when a typed date falls outside: 2099-01-01 typed in 接报日期 saved
today's date. Dates that users type get this wide range instead; the service checks the real
range and answers in Chinese beside the field.
"""
import datetime as dt

ANY_DATE = {"min_value": dt.date(1900, 1, 1), "max_value": dt.date(2999, 12, 31)}
