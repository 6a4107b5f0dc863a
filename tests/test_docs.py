"""The tenant configuration reference cannot drift from the schema."""

from assmat.tenants.docs import render_reference
from tests.conftest import REPO


def test_reference_page_is_the_one_the_schema_generates():
    committed = (REPO / "docs" / "tenant-config.md").read_text(encoding="utf-8")
    assert committed == render_reference(), "docs/tenant-config.md is stale: run `make docs`"


def test_reference_page_documents_every_key_of_the_spec():
    page = render_reference()
    for key in [
        "`slug`", "`hosts`", "`public_url`", "`branding.legal.accessibility`", "`login.identifier`",
        "`password_policy.special_characters`", "`password_policy.history.months`", "`lockout.reset_counter_on_success`",
        "`lockout.duration`", "`password_reset.identify_by`", "`activation.identity_fields`",
        "`first_login.accept_terms`", "`session.idle_timeout`", "`features.availability`",
        "`childcare_types.max_hours_per_month`", "`import.delimiter`", "`import.columns.agrement_number`",
    ]:
        assert key in page, key
