"""Demo step: one API key per platform with a well-known token, and a few of today's calls that
arrived through the intake API (docs/api.md).

The tokens are printed with the demo logins (`manage.py print-logins`, README) so the curl examples
of docs/api.md work on a fresh demo. They are flagged `is_demo` and refused whenever the portal runs
in production mode, like the demo accounts. The calls go through services.cases.calls.accept, the
service behind POST /api/v1/calls, so their cases, case events and audit records are exactly what a
platform's post leaves: registered by "110 接警平台" / "12345 热线平台", waiting for dispatch.

Last step of the demo: the earlier steps keep their seeds and their data.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Township, User, Village
from services import api_keys, auth, clock
from services.cases import calls
from services.demo import cases as demo_cases

DEMO_KEYS = {  # source -> (token, name)
    "110": ("mj_110_demo-110-key-only-valid-in-demo-mode", "市公安局 110 指挥中心"),
    "12345": ("mj_12345_demo-12345-key-only-valid-in-demo-mode", "市 12345 热线中心"),
}
# (source, minutes before now, category, description, place given as "code" or "address")
CALLS = [
    ("110", 95, "neighbor", "来电人称楼上装修噪音持续到深夜，多次沟通无果，双方在楼道发生争吵", "code"),
    ("12345", 80, "wage", "工单反映某装修队拖欠 6 名工人工资约 18000 元，多次讨要未果，请求协调", "address"),
    ("110", 62, "family", "来电人称与丈夫因家庭开支问题发生激烈争吵，请求到场调解", "code"),
    ("110", 35, "traffic", "两车在路口轻微剐蹭，双方对责任和修车费用有分歧，在现场争执", "address"),
    ("12345", 20, "property", "工单反映小区物业调整停车收费标准，业主与物业发生纠纷", "code"),
]


def token_table() -> list[tuple[str, str]]:
    """(platform, token), for the terminal and the README."""
    return [(api_keys.PLATFORMS[source], token) for source, (token, _) in DEMO_KEYS.items()]


def load(session: Session, rng: random.Random) -> None:
    admin = session.scalar(select(User).where(User.username == "admin"))
    by = auth.actor_for(admin) if admin is not None else api_keys.platform_actor("110", "演示")
    keys = {}
    for source, (token, name) in DEMO_KEYS.items():
        key = api_keys.add_demo_key(session, by, source, name, token)
        keys[source] = api_keys.KeyInfo(key.id, key.source, key.name)
    places = session.execute(select(Township.code, Township.name, Village.code, Village.name)
                             .join(Village, Village.township_id == Township.id)
                             .where(Township.mode == "station").order_by(Village.code)).all()
    now = clock.now().replace(microsecond=0)
    day = f"{clock.local(now):%Y%m%d}"
    for k, (source, minutes, category, description, place) in enumerate(CALLS, start=1):
        town_code, town_name, village_code, village_name = rng.choice(places)
        name = rng.choice(demo_cases.SURNAMES) + "".join(rng.choice(demo_cases.GIVEN) for _ in range(rng.randint(1, 2)))
        mobile = rng.choice(demo_cases.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        road = rng.choice(demo_cases.ROADS)
        payload = {
            "source": source,
            # a range the demo's own live numbers (…0001 upwards per day) never reach
            "external_id": f"J360981{day}09{k:02d}" if source == "110" else f"GD{day}090{k:02d}",
            "received_at": clock.local(now - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds"),
            "caller_name": name, "caller_phone": mobile, "service_code": category, "description": description,
        }
        if place == "code":
            payload |= {"village_code": village_code, "address": f"{road}{rng.randint(1, 200)}号"}
        else:  # a free address naming the township and the village
            payload["address"] = f"{town_name}{village_name}{road}{rng.randint(1, 200)}号"
        calls.accept(session, keys[source], payload)
        api_keys.count_request(session, keys[source].id, limit=10**6)  # the key list shows when it was last used
