"""Streamlit's built-in English that our own options can remove: every selectbox and multiselect
has a Chinese placeholder (else "Choose an option" / "Choose options" / "No options to select"),
no multiselect offers the English "Select all", no form prints "Press Enter to submit form", and the
uploader states the real 10 MB limit. The browser walk (test_browser_all_pages.py) checks the result."""
import ast
import re
import tomllib
from pathlib import Path

from services.taskforce.instruments import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
HAN = re.compile(r"[\u4e00-\u9fff]")


def _calls(name: str):
    for path in sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("components/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name:
                yield f"{path.name}:{node.lineno}", {k.arg: k.value for k in node.keywords}


def test_every_selectbox_and_multiselect_has_a_chinese_placeholder():
    missing = [where for name in ("selectbox", "multiselect") for where, kw in _calls(name)
               if not (isinstance(kw.get("placeholder"), ast.Constant) and HAN.search(kw["placeholder"].value))]
    assert not missing


def test_no_multiselect_offers_the_english_select_all():
    assert not [where for where, kw in _calls("multiselect")
                if not (isinstance(kw.get("select_all"), ast.Constant) and kw["select_all"].value is False)]


def test_no_form_prints_press_enter_to_submit():
    # the login form (components/login.py) is left to its owner; see the report of issue 11
    assert not [where for where, kw in _calls("form") if not where.startswith("login.py")
                and not (isinstance(kw.get("enter_to_submit"), ast.Constant) and kw["enter_to_submit"].value is False)]


def test_the_uploader_states_the_real_limit():
    config = tomllib.loads((ROOT / ".streamlit/config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_FILE_BYTES
    assert config["client"]["showErrorDetails"] == "none"
