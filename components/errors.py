"""The page edge: an unexpected exception becomes one Chinese sentence with an incident number.

Streamlit would otherwise draw its English exception box ("This app has encountered an error…",
with links to search engines) even with client.showErrorDetails = "none". The details go to the
server log under the incident number: the exception's type and the traceback frames (file, line,
function), never the exception's message, which may quote what a user typed (a name, a mobile).
"""
from __future__ import annotations

import logging
import secrets
import traceback

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

log = logging.getLogger("mujiu.incident")

MESSAGE = "系统出现异常，已记录（事件编号 {incident}），请稍后重试或联系管理员。"


def _frames(exc: BaseException) -> str:
    """The traceback without the exception's message (and without local values)."""
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
    return "\n".join(lines)


def report(exc: BaseException) -> str:
    """Log the exception under a new incident number and return the number."""
    incident = secrets.token_hex(4).upper()
    log.error("incident %s: %s.%s\n%s", incident, type(exc).__module__, type(exc).__qualname__, _frames(exc))
    return incident


def run_page(page) -> None:
    """Run the page st.navigation chose; show a Chinese sentence instead of a crash box."""
    try:
        page.run()
    except ScriptControlException:  # st.rerun / st.stop / st.switch_page: Streamlit's own control flow
        raise
    except Exception as exc:  # noqa: BLE001 - the page edge: anything unexpected ends here
        st.error(MESSAGE.format(incident=report(exc)))
