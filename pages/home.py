"""工作台: who you are, what you can do, and the organisation at a glance."""
import streamlit as st

from components.context import db, guard, plain
from components.navigation import pages_for_actor
from components.taskforce_panels import home_panel
from db.config import app_mode
from services.roster import org
from services.roles import ROLES, TASKFORCE

me = guard(__file__)
st.title("工作台")
st.write(plain(f"您好，{me.display_name}（{ROLES[me.role]}）。"))

with db() as s:
    city = org.city(s)
    counts = org.summary(s)

st.subheader(f"{city['name']}非警务警情联动处置体系")
cols = st.columns(len(counts))
for col, (label, n) in zip(cols, counts.items()):
    col.metric(label, f"{n:,}")

if me.role == TASKFORCE:  # open and overdue action items and notices first
    home_panel(me)

st.subheader("我的功能")
for spec in pages_for_actor(me, app_mode()):  # the same list as the menu
    if spec.path != "pages/home.py":
        st.page_link(spec.path, label=f"{spec.section} · {spec.title}", icon=spec.icon)
