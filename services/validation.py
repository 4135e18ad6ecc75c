"""Input checks shared by every form: mobiles, ID card numbers, times; and the masks of personal data."""
from __future__ import annotations

# Folded into the input layer (services/inputs.py) and the one redaction detector
# (services/redact.py); the names stay importable from here for existing callers.
from services.inputs import id_check_digit, normalise_id_card, normalise_mobile  # noqa: F401
from services.redact import mask_address, mask_id, mask_name, mask_phone  # noqa: F401
from services.redact import redact as redact_text  # noqa: F401


def party_replacements(parties, *addresses: str | None) -> dict[str, str]:
    """What to mask in a case's free text for a role without personal access: each party's name,
    given name (two characters or more; both readings of a four-character name), mobile, ID number
    and address, and the case's addresses.
    `parties`: objects with name, mobile, id_card, address."""
    out: dict[str, str] = {}
    for p in parties:
        name = (p.name or "").strip()
        if len(name) >= 2:
            out[name] = mask_name(name)
            for given in (name[1:], name[2:]):  # 王建国 -> 建国; 欧阳明月 -> 阳明月 and 明月
                if len(given) >= 2:
                    out.setdefault(given, "*" * len(given))
        for value, masked in ((p.mobile, mask_phone(p.mobile)), (p.id_card, mask_id(p.id_card))):
            if value:
                out[value] = masked
        if p.address and len(p.address.strip()) >= 4:
            out[p.address.strip()] = mask_address(p.address.strip())
    for a in addresses:
        if a and len(a.strip()) >= 4:
            out[a.strip()] = mask_address(a.strip())
    return out


def masker_for(session, actor, case_ids) -> "callable":
    """How free text linked to these cases reads for this actor: as typed for roles with personal
    access, else with the cases' party names, numbers and addresses and every phone/ID masked
    (services.redact). One function for pages and for the DOCX/PDF made from them."""
    from sqlalchemy import select

    from db.models import Case, Party
    from services.roles import may
    if may(actor.role, "case.view_personal"):
        return lambda text: text
    ids = list(case_ids or [])
    parties = list(session.scalars(select(Party).where(Party.case_id.in_(ids)))) if ids else []
    addresses = list(session.scalars(select(Case.address).where(Case.id.in_(ids)))) if ids else []
    known = party_replacements(parties, *addresses)
    return lambda text: redact_text(text, known) if isinstance(text, str) else text
