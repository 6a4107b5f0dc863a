"""The access log's filter: tokens of links and secret-looking values are masked, the rest kept."""

import logging

import pytest

from assmat.web.access_log import RedactTokens, redact

TOKEN = "Xy12abcdefghijklmnopqrstuvwxyz0123456789ABC"


@pytest.mark.parametrize(("path", "logged"), [
    (f"/reinitialisation/{TOKEN}", "/reinitialisation/[redacted]"),
    ("/activation/court", "/activation/[redacted]"),
    (f"/confirmation-email/{TOKEN}?suite=1", "/confirmation-email/[redacted]?suite=1"),
    (f"/admin/mot-de-passe/{TOKEN}", "/admin/mot-de-passe/[redacted]"),
    ("/habilitation/consentement/court", "/habilitation/consentement/[redacted]"),
    (f"/une-future-route/{TOKEN}", "/une-future-route/[redacted]"),
    (f"/connexion?jeton={TOKEN}&next=/espace", "/connexion?jeton=[redacted]&next=/espace"),
    ("/franceconnect/retour?code=abcdefghijklmnop&state=onlyletterslongenoughtobeastate&iss=x",
     "/franceconnect/retour?code=[redacted]&state=[redacted]&iss=x"),
    (f"/activation/{TOKEN}/franceconnect", "/activation/[redacted]/franceconnect"),
    ("/changement-mot-de-passe", "/changement-mot-de-passe"),
    ("/espace/messages?tri=objet&ordre=asc&page=3", "/espace/messages?tri=objet&ordre=asc&page=3"),
    ("/admin/account/details/12345", "/admin/account/details/12345"),
    ("/recherche?commune=Auch&adresse=3+rue+Dessoles&rayon=5", "/recherche?commune=Auch&adresse=[redacted]&rayon=5"),
    ("/recherche?commune=Auch&rayon=5", "/recherche?commune=Auch&rayon=5"),
])
def test_redact(path, logged):
    assert redact(path) == logged


def test_a_parents_address_carried_back_to_the_results_is_not_logged():
    logged = redact("/assistants/abcdefabcdef?retour=%2Frecherche%3Fadresse%3D3%2Brue%2BDessoles%26rayon%3D5")
    assert "Dessoles" not in logged and logged.startswith("/assistants/abcdefabcdef?retour=")


def test_the_filter_rewrites_uvicorns_access_record(caplog):
    logger = logging.getLogger("tests.access")
    logger.addFilter(RedactTokens())
    try:
        with caplog.at_level(logging.INFO, logger="tests.access"):
            logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/reinitialisation/{TOKEN}", "1.1", 200)
    finally:
        logger.filters.clear()
    assert caplog.messages == ['127.0.0.1:5000 - "GET /reinitialisation/[redacted] HTTP/1.1" 200']
    assert TOKEN not in caplog.text
