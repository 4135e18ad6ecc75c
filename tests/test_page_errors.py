"""An unexpected exception in a page shows one Chinese sentence with an incident number,
never Streamlit's English exception box or a traceback; the server log has the details."""
import logging
import re

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from components.errors import run_page
from services.cases import case_queries
from tests.ui import app_as

SENTENCE = re.compile(r"^系统出现异常，已记录（事件编号 ([0-9A-F]{8})），请稍后重试或联系管理员。$")


def test_a_failing_service_shows_one_chinese_sentence_with_an_incident_number(ui_url, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("connection lost while reading 欧阳明月 13912345678")

    monkeypatch.setattr(case_queries, "police_stations", broken)
    with caplog.at_level(logging.ERROR, logger="mujiu.incident"):
        at = app_as(ui_url, "staff", "pages/case_list.py")
    assert not at.exception, [e.message for e in at.exception]  # no Streamlit exception box
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and SENTENCE.match(errors[0]), errors
    incident = SENTENCE.match(errors[0]).group(1)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert incident in logged and "RuntimeError" in logged and "case_list.py" in logged
    assert "欧阳明月" not in logged and "13912345678" not in logged  # no personal data in the log


@pytest.mark.parametrize("control", [StopException, RerunException])
def test_st_stop_rerun_and_switch_page_pass_through_the_wrapper(control):
    """st.stop / st.rerun / st.switch_page raise these; swallowing them would break navigation."""
    class Page:
        def run(self):
            raise control(None) if control is RerunException else control()

    with pytest.raises(control):
        run_page(Page())


FAULT = '''
import sys
sys.path.insert(0, {root!r})
from services.cases import case_queries


def _broken(*args, **kwargs):
    raise RuntimeError("connection lost while reading 欧阳明月 13912345678")


case_queries.police_stations = _broken
'''


@pytest.mark.browser
def test_in_the_browser_a_failing_service_shows_the_chinese_sentence_not_streamlits_box(
        browser, live_server, tmp_path, monkeypatch):
    """A second server on the demo database whose case list service raises (patched in at start-up
    through a sitecustomize module): the page shows the one sentence, no English, no traceback."""
    from playwright.sync_api import expect

    from tests.browser_support import ROOT, LiveServer
    from tests.test_browser_case_loop import WAIT, go, login

    (tmp_path / "sitecustomize.py").write_text(FAULT.format(root=str(ROOT)))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    server = LiveServer(live_server.database_url, tmp_path / "faulty-server.log")
    try:
        context = browser.new_context()
        page = context.new_page()
        login(page, server.url, "staff")
        go(page, "案件列表")
        sentence = page.get_by_text(re.compile("^系统出现异常，已记录（事件编号 [0-9A-F]{8}），请稍后重试或联系管理员。$"))
        expect(sentence).to_be_visible(timeout=WAIT)
        main = page.get_by_test_id("stMain").inner_text()
        assert page.get_by_test_id("stException").count() == 0
        for english in ("This app has encountered an error", "Traceback", "RuntimeError", "Ask Google", "ChatGPT"):
            assert english not in main
        incident = re.search(r"事件编号 ([0-9A-F]{8})", sentence.inner_text()).group(1)
        context.close()
    finally:
        server.stop()
    log = (tmp_path / "faulty-server.log").read_text()
    assert f"incident {incident}" in log and "RuntimeError" in log
    assert "欧阳明月" not in log and "13912345678" not in log
