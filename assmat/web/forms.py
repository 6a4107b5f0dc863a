"""Reading a POSTed form safely: bounded size, one value per field, CSRF checked first."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
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


async def _bounded_body(request: Request, kinds: tuple[str, ...], limit: int, too_large: BadForm) -> None:
    """Read the body into memory, never more than `limit` bytes: refused while it streams."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in kinds:
        raise BadForm(_("The data sent is not a form."))
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        raise BadForm(_("The form was not received completely.")) from None
    request._body = bytes(body)  # the parser reads the cached body


def _text_values(form: FormData, file_field: str | None = None) -> tuple[dict[str, str], UploadFile | None]:
    values: dict[str, str] = {}
    upload: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != file_field or upload is not None:
                raise BadForm(_("The form sent is not valid: each field must be sent once, as text."))
            upload = value
            continue
        if key in values:
            raise BadForm(_("The form sent is not valid: each field must be sent once, as text."))
        if "\x00" in key or "\x00" in value:  # no text of ours holds one; PostgreSQL refuses it
            raise BadForm(_("The form sent contains a character that is not allowed."))
        values[key] = value
    return values, upload


async def read_form(request: Request, max_fields: int = 50) -> dict[str, str]:
    await _bounded_body(request, ("application/x-www-form-urlencoded", "multipart/form-data"), MAX_FORM_BYTES,
                        BadForm(_("The form sent is too large.")))
    try:
        form = await request.form(max_files=0, max_fields=max_fields, max_part_size=MAX_FORM_BYTES)
    except Exception:
        raise BadForm(_("The form sent could not be read.")) from None
    if not form_csrf_valid(request, form):
        raise CsrfFailed()
    values, _upload = _text_values(form)
    return values


class FileTooLarge(BadForm):
    """The body is larger than the file limit allows: refused before it is parsed (no CSRF
    token could be read from it), so the page says so and nothing is done."""

    status = 413


@dataclass(frozen=True)
class Uploaded:
    """The text fields of a multipart form and its one file: the name the browser gave it (None:
    no file chosen) and its bytes (empty for an empty file)."""

    values: dict[str, str]
    filename: str | None
    content: bytes


async def read_form_with_file(request: Request, field: str, max_file_bytes: int, too_large: str,
                              max_fields: int = 10) -> Uploaded:
    """A multipart form with one file in `field`: the body bounded while it streams (the file's
    limit and room for the text fields), the CSRF token checked first, one value per field.
    FileTooLarge (with `too_large`), BadForm or CsrfFailed."""
    limit = max_file_bytes + MAX_FORM_BYTES
    await _bounded_body(request, ("multipart/form-data",), limit, FileTooLarge(too_large))
    try:
        form = await request.form(max_files=1, max_fields=max_fields, max_part_size=MAX_FORM_BYTES)
    except Exception:
        raise BadForm(_("The form sent could not be read.")) from None
    try:
        if not form_csrf_valid(request, form):
            raise CsrfFailed()
        values, upload = _text_values(form, field)
        if upload is None or not upload.filename:
            return Uploaded(values, None, b"")
        content = await upload.read(max_file_bytes + 1)
        if len(content) > max_file_bytes:
            raise FileTooLarge(too_large)
        return Uploaded(values, upload.filename, content)
    finally:
        await form.close()
