"""案件文书 on the real pages (AppTest, SQLite): staff get the documents the case's state has, a
leader (masked personal data) gets no panel and no month archive."""
from __future__ import annotations

from tests.test_case_pages import DETAIL, make_case, url  # noqa: F401  (url: the pages' database)
from tests.ui import app_as, texts


def _download_keys(at) -> set[str]:
    return {str(getattr(e, "key", None) or e.proto.id) for e in at.get("download_button")}


def _detail(url, role):  # noqa: F811
    """案件详情 of a new (registered) case, as `role`."""
    case_id, _ = make_case(url)
    at = app_as(url, role)
    at.session_state["case_id"] = case_id
    at.switch_page(DETAIL).run()
    assert not at.exception
    return at, case_id


def test_staff_see_the_documents_of_a_new_case_and_no_dossier(url):  # noqa: F811
    at, case_id = _detail(url, "staff")
    assert "案件文书" in [h.value for h in at.subheader]
    keys = " ".join(_download_keys(at))
    assert f"papers_{case_id}_registration_form_docx" in keys and f"papers_{case_id}_registration_form_pdf" in keys
    assert "mediation_agreement" not in keys and "dossier" not in keys   # not settled, not closed


def test_leader_gets_no_case_papers_and_no_month_archive(url):  # noqa: F811
    at, _ = _detail(url, "leader")
    assert "案件文书" not in [h.value for h in at.subheader]
    assert not [k for k in _download_keys(at) if "papers_" in k]
    at.switch_page("pages/follow_up.py").run()
    assert not at.exception and "月度卷宗归档" not in texts(at)


def test_staff_see_the_month_archive_on_follow_up(url):  # noqa: F811
    at = app_as(url, "staff")
    at.switch_page("pages/follow_up.py").run()
    assert not at.exception
    assert "月度卷宗归档" in [h.value for h in at.subheader]
    assert "没有闭环归档的案件" in texts(at)   # the empty test database: said, no button


def test_the_audit_log_page_names_each_download_in_chinese(url):  # noqa: F811
    from db.engine import get_engine, session_scope
    from services.cases import dossier
    from tests.ui import by_key, ensure_user
    case_id, number = make_case(url)
    staff = ensure_user(url, "staff")
    with session_scope(get_engine(url)) as s:
        dossier.document_file(s, staff, case_id, "registration_form", "docx")
    at = app_as(url, "taskforce", "pages/audit_log.py")
    assert not at.exception
    table = at.dataframe[-1].value
    assert ("下载案件文书", number) in set(zip(table["操作"], table["对象"]))
    by_key(at.selectbox, "al_action").set_value("papers.download").run()   # offered as a filter
    assert set(at.dataframe[-1].value["操作"]) == {"下载案件文书"}


def test_a_trainer_gets_the_panel_as_training_specimens(url):  # noqa: F811
    at, case_id = _detail(url, "trainer")
    assert "案件文书" in [h.value for h in at.subheader]
    assert "培训样本" in texts(at)
    assert f"papers_{case_id}_registration_form_pdf" in " ".join(_download_keys(at))
