"""Extra panels drawn at the end of 案件详情, in order.

Other features append a function here (e.g. the dispute-code QR panel, linked risk notices):

    from components.case_panels import PANELS
    PANELS.append(my_panel)          # my_panel(case_id: int, actor: Actor) -> None

A panel draws its own subheader and reads what it needs through its own service; it must
respect the actor's role (masking, read-only roles) like any page.
"""
from __future__ import annotations

from typing import Callable

from services.roles import Actor

CasePanel = Callable[[int, Actor], None]
PANELS: list[CasePanel] = []
from components import qr_panel  # noqa: E402  解纷码 panel
PANELS.append(qr_panel.render)
from components import taskforce_panels  # noqa: E402  专班督办 panel
PANELS.append(taskforce_panels.case_panel)
from components import papers_panel  # noqa: E402  案件文书 panel (DOCX/PDF, dossier)
PANELS.append(papers_panel.case_panel)
