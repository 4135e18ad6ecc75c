"""What a leader sees when hovering or reading the dashboard charts: Chinese field names in every
tooltip, category labels that do not run into each other."""
import re

from components import charts

HAN = re.compile(r"[\u4e00-\u9fff]")
ROWS = [{"township": "剑光街道", "category": "交通事故赔偿", "received": 1234},
        {"township": "董家镇", "category": "邻里纠纷", "received": 5}]


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_every_layer_of_the_heat_table_has_a_chinese_tooltip():
    spec = charts.heat_chart(ROWS).to_dict()
    for layer in _layers(spec):
        enc = {**spec.get("encoding", {}), **layer.get("encoding", {})}
        tips = enc.get("tooltip")
        assert tips, f"layer {layer['mark']} falls back to raw field names"
        assert all(HAN.search(t["title"]) for t in tips)


def test_long_category_labels_are_slanted_not_overlapping():
    spec = charts.heat_chart(ROWS).to_dict()
    enc = {**spec.get("encoding", {}), **_layers(spec)[0].get("encoding", {})}
    axis = enc["x"]["axis"]
    assert axis["labelAngle"] != 0 and axis["labelLimit"] >= 100
