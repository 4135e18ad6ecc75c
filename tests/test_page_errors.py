"""An unexpected exception in a page shows one Chinese sentence with an incident number,
never Streamlit's English exception box or a traceback; the server log has the details."""
import logging
import re

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from components.errors import run_page
from services import case_queries
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
