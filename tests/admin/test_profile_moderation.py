"""Text moderation of the fiches (`publication.text_moderation`): her new texts wait, the public
fiche keeps the approved ones, the staff approve or refuse with a reason she reads on « Ma
fiche », each decision audited and bound to the staff's own tenant."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from assmat.core.security.models import AuditEvent
from assmat.portal.profile.models import Fiche
from tests.admin.conftest import signed_in
from tests.conftest import TENANT_CONFIGS, make_settings
from tests.support.portal import text_of
from tests.support.site import make_publishable, signed_in_portal

# The approval copies columns within one UPDATE: checked on both backends.
pytestmark = pytest.mark.both_backends


@pytest.fixture
def settings(tmp_path, database_url):
    """The Gers portal, moderating the fiches' texts."""
    configs = tmp_path / "tenants"
    shutil.copytree(TENANT_CONFIGS, configs)
    gers = configs / "gers.yaml"
    text = gers.read_text(encoding="utf-8")
    assert "publication:\n  regime:" in text
    gers.write_text(text.replace("publication:\n  regime:", "publication:\n  text_moderation: true\n  regime:"), encoding="utf-8")
    return make_settings(tmp_path, database_url, tenant_configs=configs)


def form(presentation: str) -> dict[str, str]:
    return {"presentation": presentation, "activites": "Jeux d'eau", "afficher-telephone": "1", "afficher-courriel": "1",
            "afficher-adresse": "1"}


def fiche_of(portal, account_id: int) -> Fiche:
    return portal.query(select(Fiche).where(Fiche.tenant_id == "gers", Fiche.account_id == account_id))[0][0]


def test_texts_wait_for_the_staff_who_approve_or_refuse_them_with_a_reason(app, portal_for, console_for):
    portal, account = signed_in_portal(portal_for, "gers", "AGR-2026-0777", first_name="Camille", last_name="Prunier")
    make_publishable(portal, account)
    saved = portal.post("/espace/fiche", form("Bonjour, je suis Camille."))
    assert saved.headers["location"] == "/espace/fiche?info=fiche_pending"
    page = text_of(portal.client.get(saved.headers["location"]))
    assert "Vos textes seront publiés dès que le service les aura validés." in page
    assert "Vos textes sont en attente de validation : les parents voient encore la version précédente." in page
    fiche = fiche_of(portal, account.id)
    assert (fiche.texts_state, fiche.presentation, fiche.pending_presentation) == ("pending", None, "Bonjour, je suis Camille.")
    public = portal_for("gers").client.get(f"/assistants/{fiche.public_id}")
    assert public.status_code == 200 and "Bonjour, je suis Camille." not in text_of(public)

    staff = signed_in(console_for, app, "gers", "agent@gers.fr")
    queue = text_of(staff.client.get("/admin/fiche-texts/list"))
    assert "Bonjour, je suis Camille." in queue and "en attente de validation" in queue
    confirm = staff.client.get("/admin/fiche-texts/action/approve-texts", params={"pks": str(fiche.id)})
    assert confirm.status_code == 200 and "Valider les textes" in text_of(confirm)
    assert staff.run_action("approve_texts", str(fiche.id), identity="fiche-texts").status_code == 303
    assert "Bonjour, je suis Camille." in text_of(portal_for("gers").client.get(f"/assistants/{fiche.public_id}"))

    # A second version, refused: the approved one stays public, she reads why.
    portal.post("/espace/fiche", form("Appelez-moi au 06 00 00 00 00 !"))
    token = staff.csrf("/admin/fiche-texts/list")
    without_reason = staff.client.post("/admin/fiche-texts/run/reject_texts", data={"csrf_token": token, "pks": str(fiche.id),
                                                                                    "reason": "  "})
    assert without_reason.status_code == 400 and fiche_of(portal, account.id).texts_state == "pending"
    form_page = staff.client.get("/admin/fiche-texts/action/reject-texts", params={"pks": str(fiche.id)})
    assert 'name="reason"' in form_page.text and "Motif du refus" in text_of(form_page)
    rejected = staff.client.post("/admin/fiche-texts/run/reject_texts", data={
        "csrf_token": staff.csrf("/admin/fiche-texts/list"), "pks": str(fiche.id),
        "reason": "Votre numéro figure déjà dans vos coordonnées."})
    assert rejected.status_code == 303
    mine = text_of(portal.client.get("/espace/fiche"))
    assert "Vos derniers textes n'ont pas été validés par le service. Motif : Votre numéro figure déjà dans vos coordonnées." in mine
    assert "Appelez-moi au 06 00 00 00 00 !" in mine  # her refused text, to correct
    public = text_of(portal_for("gers").client.get(f"/assistants/{fiche.public_id}"))
    assert "Bonjour, je suis Camille." in public and "Appelez-moi" not in public
    events = [row[0] for row in portal.query(select(AuditEvent.type).where(
        AuditEvent.tenant_id == "gers", AuditEvent.account_id == account.id, AuditEvent.type.like("fiche.%")))]
    assert events.count("fiche.saved") == 2 and "fiche.texts_approved" in events and "fiche.texts_rejected" in events


def test_another_tenants_staff_cannot_see_or_decide(app, portal_for, console_for):
    portal, account = signed_in_portal(portal_for, "gers", "AGR-2026-0778")
    portal.post("/espace/fiche", form("Texte à valider"))
    fiche = fiche_of(portal, account.id)
    other = signed_in(console_for, app, "eure-et-loir", "agent@eure-et-loir.fr")
    assert "Texte à valider" not in text_of(other.client.get("/admin/fiche-texts/list"))
    assert other.run_action("approve_texts", str(fiche.id), identity="fiche-texts").status_code == 404
    assert fiche_of(portal, account.id).texts_state == "pending"
