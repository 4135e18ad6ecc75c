"""案件登记 (staff, station-room mediators): register a case from any source; see its routing first."""
import datetime as dt

import streamlit as st

from components import forms
from components.case_widgets import open_case, party_editor
from components.context import can, db, field_error, guard, plain
from components.dates import ANY_DATE
from components.repeat_panels import draft_panel
from services import clock
from services.cases import case_queries
from services.cases import intake
from services.roster import org

me = guard(__file__)
st.title("案件登记")
form = forms.bound("in")  # every widget key below carries the form's generation: a save gives an empty form
k = form.key

created = st.session_state.get("in_created")
form.flash()
if created:
    if st.button(f"打开案件 {created['number']}", key="in_open_new", type="primary"):
        st.session_state.pop("in_created")
        open_case(created["id"])
dup = st.session_state.get("in_duplicate")
if dup:
    st.warning(plain(dup["message"]))
    if st.button(f"打开已登记的案件 {dup['number']}", key="in_open_dup"):
        st.session_state.pop("in_duplicate")
        open_case(dup["id"])

with db() as s:
    townships = {t.id: f"{t.name}（{'驻所' if t.mode == 'station' else '住村'}）" for t in org.townships(s)}
    categories = {c.id: c.name for c in org.categories(s)}
    stations = dict(case_queries.police_stations(s))
    rooms = dict(case_queries.rooms(s)) if can("case.route_override") else {}

st.subheader("来源")
source = st.radio("案件来源", list(intake.SOURCES), format_func=intake.SOURCES.get, horizontal=True, key=k("source"))
field_error("source")
incident_no = officer = order_no = ""
station_id = None
if source == "110":
    c1, c2, c3 = st.columns(3)
    incident_no = c1.text_input("110 警情编号", key=k("incident_no"), max_chars=40)
    with c1:
        field_error("police_incident_no")
    officer = c2.text_input("处警民警", key=k("officer"), max_chars=50)
    station_id = c3.selectbox("处警派出所", list(stations), index=None, format_func=stations.get, key=k("station"),
                              placeholder="请选择")
elif source == "12345":
    order_no = st.text_input("12345 工单号", key=k("order_no"), max_chars=40)
    field_error("hotline_order_no")

now_local = clock.local(clock.now())
st.session_state.setdefault(k("date"), now_local.date())
st.session_state.setdefault(k("time"), now_local.time().replace(second=0, microsecond=0))
c1, c2 = st.columns(2)
day = c1.date_input("接报日期", key=k("date"), format="YYYY-MM-DD", **ANY_DATE)
tod = c2.time_input("接报时间（北京时间）", key=k("time"), step=60)
field_error("received_at")
received_at = (dt.datetime.combine(day, tod, tzinfo=clock.LOCAL_TZ).astimezone(clock.UTC)
               if day is not None and tod is not None else None)

st.subheader("发生地")
c1, c2, c3 = st.columns(3)
township_id = c1.selectbox("乡镇（街道）", list(townships), index=None, format_func=townships.get,
                           key=k("township"), placeholder="请选择")
with c1:
    field_error("township_id")
with db() as s:
    villages = {v.id: v.name for v in org.villages(s, township_id)} if township_id else {}
    if st.session_state.get(k("village")) not in villages:
        st.session_state[k("village")] = None
    village_id = c2.selectbox("村（社区）", list(villages), index=None, format_func=villages.get,
                              key=k("village"), placeholder="请选择")
    grids = {g.id: g.name for g in org.grids(s, village_id)} if village_id else {}
    if st.session_state.get(k("grid")) not in grids:
        st.session_state[k("grid")] = None
    route = case_queries.route_preview(s, township_id, village_id, received_at or clock.now())
with c2:
    field_error("village_id")
grid_id = c3.selectbox("网格（可不选）", list(grids), index=None, format_func=grids.get, key=k("grid"),
                       placeholder="请选择")
with c3:
    field_error("grid_id")
address = st.text_input("详细地址", key=k("address"), max_chars=200)

st.subheader("纠纷情况")
c1, c2 = st.columns(2)
category_id = c1.selectbox("纠纷类别", list(categories), index=None, format_func=categories.get,
                           key=k("category"), placeholder="请选择")
with c1:
    field_error("category_id")
complexity = c2.radio("复杂程度", list(intake.COMPLEXITY), format_func=intake.COMPLEXITY.get, horizontal=True,
                      key=k("complexity"))
with c2:
    field_error("complexity")
description = st.text_area("简要案情", key=k("description"), max_chars=2000)
field_error("description")

st.subheader("当事人")
parties = party_editor(form.prefix)
draft_panel(me, form.prefix, parties, address, received_at)  # 疑似重复纠纷, before saving

st.subheader("分流")
if route:
    st.info(f"按发生地自动分流：{route['text']}", icon=":material/alt_route:")
else:
    st.caption("选择乡镇（街道）和村（社区）后显示分流结果。")
override_room, override_reason = None, ""
if rooms and st.checkbox("人工改派调解室", key=k("override")):
    override_room = st.selectbox("改派至", list(rooms), index=None, format_func=rooms.get, key=k("override_room"),
                                 placeholder="请选择")
    field_error("override_room_id")
    override_reason = st.text_input("改派理由", key=k("override_reason"), max_chars=100)
    field_error("override_reason")


def _register(session, actor, data, room_id, reason):
    try:
        case = intake.register_case(session, actor, data, room_id, reason)
    except intake.DuplicateCase as exc:
        st.session_state["in_duplicate"] = {"id": exc.case_id, "number": exc.number, "message": exc.message}
        raise
    return {"id": case.id, "number": case.number}


form.error_here()
if st.button("登记案件", key=k("submit"), type="primary", icon=":material/save:"):
    st.session_state.pop("in_duplicate", None)
    st.session_state.pop("in_created", None)  # no stale success beside a new error
    data = intake.CaseInput(
        source=source, received_at=received_at, township_id=township_id, village_id=village_id, grid_id=grid_id,
        address=address, category_id=category_id, complexity=complexity, description=description,
        parties=[intake.PartyInput(**p) for p in parties], police_incident_no=incident_no,
        police_officer=officer, police_station_id=station_id, hotline_order_no=order_no)
    result = form.submit(_register, data, override_room, override_reason)
    if result:
        st.session_state["in_created"] = result
        form.saved(f"案件已登记，编号 {result['number']}。")  # an empty form for the next call
