"""Reading a POSTed form safely: bounded size, one value per field, CSRF checked first."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request

from assmat.core.errors import DomainError
from assmat.core.i18n import gettext as _
from assmat.web.csrf import form_csrf_valid

MAX_FORM_BYTES = 64 * 1024  # far above any legitimate form here; a 1 MB password is refused


class FormRefused(DomainError):
    """A POST that is not a form we act on: answered with the form error page, nothing done."""


class BadForm(FormRefused):
    """The request is not a form we can read: answered 400 with this French message."""

    status = 400


class CsrfFailed(FormRefused):
    """Missing or wrong CSRF token: answered 403, nothing done."""

    status = 403

    def __init__(self) -> None:
        super().__init__(expired_form_message())


def expired_form_message() -> str:
    """What a refused CSRF token tells the user, on the portal and in the console."""
    return _("The form has expired or did not come from this site. Please reload the page and try again.")


async def read_form(request: Request, max_fields: int = 50) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise BadForm(_("The data sent is not a form."))
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise BadForm(_("The form sent is too large."))
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise BadForm(_("The form sent is too large."))
    except ClientDisconnect:
        raise BadForm(_("The form was not received completely.")) from None
    request._body = bytes(body)  # the parser below reads the cached body
    try:
        form = await request.form(max_files=0, max_fields=max_fields, max_part_size=MAX_FORM_BYTES)
    except Exception:
        raise BadForm(_("The form sent could not be read.")) from None
    if not form_csrf_valid(request, form):
        raise CsrfFailed()
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile) or key in values:
            raise BadForm(_("The form sent is not valid: each field must be sent once, as text."))
        if "\x00" in key or "\x00" in value:  # no text of ours holds one; PostgreSQL refuses it
            raise BadForm(_("The form sent contains a character that is not allowed."))
        values[key] = value
    return values
