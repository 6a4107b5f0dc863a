"""The monthly assistants file from the département's business application: parse, validate,
upsert by agrément number. No web code here: the CLI and the console both call
`import_assistants`.

The file
- CSV in UTF-8 (with or without BOM), else Windows-1252; anything else is refused as a whole.
- Delimiter and header names from the tenant's `import` section; line 1 is the header.
- The agrément number column is required; every other known column is optional (a field whose
  column is absent is left as it is), unknown columns are ignored and reported.

Rules
- A row is keyed by its agrément number, normalised as the tenant's login identifier: it is the
  account's identifier and the number of its Agrement row. Where the login identifier is the
  email (mon-enfant, `import.key: email`), the email column is the key and the agrément number,
  still required, is only the agrément's (a number already another account's is rejected).
- A row that fails validation is reported with its line and the reasons; the others go on. A
  repeated number keeps its first row and rejects the later ones.
- The optional MAM column (where the tenant has MAM): a MAM's name as staff created it (case,
  accents and hyphens aside) links the assistant to it, an empty cell unlinks her (at home); an
  unknown name rejects the row, which then changes nothing. An absent column changes no link.
- Nothing is ever deleted: accounts absent from the file get `missing_from_import_at` (cleared
  when they come back) and are listed for the staff to decide.
- The file's email is the contact the PMI knows: it is applied until the account is activated;
  afterwards the owner manages their own address (changed with a confirmation link), so a
  monthly file never reverts it.
- New accounts follow the tenant's activation mode: `letter` gives each a temporary password
  valid LETTER_TTL, never shown (the report lists the accounts awaiting a letter; the console's
  letter action prints a fresh password, which replaces it); the other modes leave them without
  any password, ready for self-activation.
- A dry run computes the same report and writes nothing but its ImportRun and audit line.

Performance: one query loads the tenant's accounts, one its agréments; writes go in batches
(multi-row INSERT … RETURNING, executemany UPDATE by primary key). No per-row query."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.db.changes import fiche_changed
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.tokens import Principal, TokenService
from assmat.auth.identifiers import normalize_identifier
from assmat.auth.context import LETTER_TTL, TEMPORARY_PASSWORD
from assmat.auth.models import Account
from assmat.portal.agrement.models import Agrement
from assmat.portal.imports.models import ImportRun
from assmat.portal.publication.service import apply_imported_choices, published_ids, unpublished_by_suspension
from assmat.portal.structures import service as structures
from assmat.core.mail.address import address_key, plain_address
from assmat.tenants.loader import Tenant
from assmat.tenants.schema import TenantConfig

# field → default header, in the order of the interface document.
DEFAULT_HEADERS: dict[str, str] = {
    "agrement_number": "numero_agrement",
    "civility": "civilite",
    "last_name": "nom",
    "first_name": "prenom",
    "birth_date": "date_naissance",
    "email": "email",
    "phone": "telephone",
    "address": "adresse",
    "postal_code": "code_postal",
    "city": "commune",
    "agrement_start": "date_debut_agrement",
    "agrement_end": "date_fin_agrement",
    "capacity": "capacite",
    "publication": "publication",
}
# What each column holds, for the import page that tells staff which columns it expects.
FIELD_LABELS: dict[str, str] = {
    "agrement_number": "numéro d'agrément (obligatoire)", "civility": "civilité", "last_name": "nom",
    "first_name": "prénom", "birth_date": "date de naissance (JJ/MM/AAAA)", "email": "adresse email",
    "phone": "téléphone", "address": "adresse", "postal_code": "code postal", "city": "commune",
    "agrement_start": "début de l'agrément (JJ/MM/AAAA)", "agrement_end": "fin de l'agrément (JJ/MM/AAAA)",
    "capacity": "nombre de places", "publication": "accord de publication (oui/non)",
    "family_situation": "situation familiale", "agrement_place": "lieu d'agrément",
    "agrement_status": "statut de l'agrément (valide, en_renouvellement, en_revision, suspendu, retire, expire)",
    "mam": "MAM où exerce l'assistante (son nom ; vide : à domicile)",
}
# Beyond the interface's fourteen columns: read when present, never reported as absent.
OPTIONAL_HEADERS: dict[str, str] = {
    "family_situation": "situation_familiale", "agrement_place": "lieu_agrement", "agrement_status": "statut_agrement",
}
# File fields stored on the account, and on its agrément.
ACCOUNT_FIELDS = {
    "civility": "civility", "last_name": "last_name", "first_name": "first_name", "birth_date": "birth_date",
    "email": "email", "phone": "phone", "address": "address", "postal_code": "postal_code", "city": "city",
    "family_situation": "family_situation",
}
AGREMENT_FIELDS = {
    "agrement_start": "start_date", "agrement_end": "end_date", "capacity": "capacity", "agrement_place": "place",
    "agrement_status": "status",
}
# The agrément statuses a file may give (accents, case, spaces and hyphens aside) → the stored
# status (portal.publication.service.AGREMENT_STATUSES; None: current). Any status but a current
# one suspends the public fiche.
AGREMENT_STATUS_VALUES: dict[str, str | None] = {
    "": None, "valide": None, "en_cours": None, "en_cours_de_validite": None, "actif": None,
    "en_renouvellement": "renewal", "renouvellement": "renewal", "en_revision": "renewal", "revision": "renewal",
    "suspendu": "suspended", "suspension": "suspended",
    "retire": "withdrawn", "retrait": "withdrawn",
    "expire": "expired", "echu": "expired",
}
MAX_LENGTHS = {
    "civility": 20, "last_name": 100, "first_name": 100, "phone": 40, "address": 300, "city": 100, "email": 254,
    "family_situation": 60, "agrement_place": 300,
}
LABELS = {
    "civility": "civilité", "last_name": "nom", "first_name": "prénom", "phone": "téléphone", "address": "adresse",
    "city": "commune", "email": "adresse électronique", "family_situation": "situation familiale",
    "agrement_place": "lieu d'agrément",
}
CIVILITIES = {
    "m": "Monsieur", "m.": "Monsieur", "mr": "Monsieur", "mr.": "Monsieur", "monsieur": "Monsieur",
    "mme": "Madame", "mme.": "Madame", "madame": "Madame", "mlle": "Madame", "melle": "Madame", "mademoiselle": "Madame",
}
IDENTIFIER_KINDS = {
    "agrement_number": "lettres, chiffres et . / _ - ; 40 caractères au plus",
    "pmi_number": "6 chiffres",
    "email": "une adresse électronique",
    "username": "lettres, chiffres et . @ + - _",
}
MAX_AGREMENT_NUMBER = 40  # Agrement.number
BATCH = 1000
MAX_STORED_REJECTS = 5000  # an ImportRun keeps this many rejected lines (the count is always exact)
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_POSTAL_CODE = re.compile(r"^[0-9]{5}$")
ACCOUNTS = Account.__table__  # Core inserts: no ORM bookkeeping per row

Progress = Callable[[str, int, int], None]  # (phase, done, total)
T = TypeVar("T")


class ImportFileError(Exception):
    """The file cannot be imported at all (encoding, header, empty): nothing is written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class ParsedRow:
    line: int
    identifier: str  # the account's identifier: the file's key column, as the login reads it
    number: str  # the agrément's number (the identifier itself, unless the file is keyed by email)
    account: dict[str, Any]  # Account attribute → value, for the columns the file has
    agrement: dict[str, Any]  # Agrement attribute → value
    publication: bool | None = None  # the `publication` column: oui, non, or empty / absent
    mam: str | None = None  # the `mam` column: a MAM's name, "" (at home), or None (absent)


@dataclass
class ParsedFile:
    encoding: str
    rows: list[ParsedRow]
    rejected: list[Rejected]
    seen: set[str]  # every valid agrément number in the file, rejected rows included
    total_rows: int
    account_fields: list[str]
    agrement_fields: list[str]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    tenant: str
    filename: str
    dry_run: bool
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # identifiers absent from the file
    returned: list[str] = field(default_factory=list)  # absent before, back in this file
    letters: list[str] = field(default_factory=list)  # new accounts awaiting a printed letter
    warnings: list[str] = field(default_factory=list)
    # Fiches whose publication this import changed (computed when applied, on tenants that publish).
    published: int = 0  # now published
    unpublished: int = 0  # no longer published by her choice (the file's `publication` column)
    suspended: int = 0  # no longer published because of the agrément (dates, status)
    choices: dict[str, int] = field(default_factory=dict)  # register lines written, by kind
    run_id: int | None = None
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": len(self.rejected), "missing": len(self.missing), "returned": len(self.returned),
            "letters": len(self.letters), "published": self.published, "unpublished": self.unpublished,
            "suspended": self.suspended, **{f"choice_{kind}": n for kind, n in self.choices.items()},
        }


# -- reading the file ------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding's name: UTF-8 (BOM or not), else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            "Le fichier est en UTF-16 : enregistrez-le en CSV UTF-8 ou Windows-1252 (« CSV (séparateur : point-virgule) »)."
        )
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("Le fichier est un classeur (Excel, LibreOffice) : enregistrez-le au format CSV.")
    if b"\x00" in data:
        raise ImportFileError("Le fichier n'est pas un fichier texte CSV (octets nuls) : enregistrez-le au format CSV.")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError:
            pass  # a BOM then Windows-1252 bytes: refused below
    else:
        try:
            return data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            pass
        try:
            return data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            pass
    raise ImportFileError(
        "Le fichier n'est ni en UTF-8 ni en Windows-1252 : enregistrez-le au format CSV dans l'un de ces encodages."
    )


def _header_key(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip().strip("\ufeff").strip().casefold()


def expected_headers(config: TenantConfig) -> dict[str, str]:
    """field → header name this tenant's file uses (the MAM column only where the tenant has MAM)."""
    columns = config.import_.columns
    optional = {**OPTIONAL_HEADERS, **({"mam": "mam"} if "mam" in config.features.structures else {})}
    return {name: getattr(columns, name) or default for name, default in {**DEFAULT_HEADERS, **optional}.items()}


def expected_columns(config: TenantConfig) -> list[tuple[str, str, bool]]:
    """(header, what it holds, optional) for each column this tenant's file may have, in order."""
    headers = expected_headers(config)
    labels = dict(FIELD_LABELS)
    if config.import_key == "email":
        labels["email"] = "adresse email (obligatoire : l'identifiant du compte)"
    return [(headers[name], labels[name], name not in DEFAULT_HEADERS) for name in headers]


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _unaccent(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value.strip()) if not unicodedata.combining(c))


def _parse_date(raw: str) -> date | None:
    match = _DATE.match(raw)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    if not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, cells), blank lines skipped; csv errors name their line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"Ligne {previous + 1} illisible : {exc}.") from None
        line = previous + 1
        previous = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        yield line, cells


def parse_file(data: bytes, config: TenantConfig, progress: Progress | None = None) -> ParsedFile:
    """Decode, read the header and validate every row. ImportFileError when the file as a whole
    cannot be read; row errors are collected, line by line."""
    text, encoding = decode(data)
    delimiter = config.import_.delimiter
    kind = config.login.identifier
    key = config.import_key
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise ImportFileError("Le fichier est vide.")
    header_line, header = first
    headers = expected_headers(config)
    wanted = {_header_key(name): field_name for field_name, name in headers.items()}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        field_name = wanted.get(_header_key(cell))
        if field_name is None:
            if cell.strip():
                ignored.append(cell.strip())
        elif field_name in positions:
            raise ImportFileError(f"Ligne {header_line} : la colonne « {cell.strip()} » apparaît deux fois dans l'en-tête.")
        else:
            positions[field_name] = index
    for required in dict.fromkeys((key, "agrement_number")):
        if required in positions:
            continue
        hint = ""
        for other in (";", ",", "\t", "|"):
            if other != delimiter and len(header) == 1 and other in header[0]:
                shown = "tabulation" if other == "\t" else f"« {other} »"
                hint = f" Le fichier semble séparé par {shown} alors que ce portail attend « {delimiter if delimiter != chr(9) else 'tabulation'} »."
                break
        what = "numéro d'agrément" if required == "agrement_number" else "adresse électronique"
        raise ImportFileError(
            f"Ligne {header_line} : la colonne « {headers[required]} » ({what}) est introuvable dans l'en-tête.{hint}"
        )
    warnings: list[str] = []
    absent = [headers[f] for f in DEFAULT_HEADERS if f not in positions]
    if absent:
        warnings.append("Colonnes absentes (ces informations ne sont pas modifiées) : " + ", ".join(absent) + ".")
    if ignored:
        warnings.append("Colonnes inconnues, ignorées : " + ", ".join(ignored) + ".")

    width = len(header)
    account_fields = [ACCOUNT_FIELDS[f] for f in ACCOUNT_FIELDS if f in positions]
    if "email" in positions:
        account_fields.append("email_key")
    agrement_fields = [AGREMENT_FIELDS[f] for f in AGREMENT_FIELDS if f in positions]
    rows: list[ParsedRow] = []
    rejected: list[Rejected] = []
    first_line: dict[str, int] = {}
    numbers: dict[str, int] = {}  # agrément numbers of a file keyed by email: one account each
    present: set[str] = set()  # numbers of rows rejected before their number was read
    total_lines = text.count("\n") + 1
    today = clock.today()
    count = 0
    for line, cells in records:
        count += 1
        if progress is not None and count % 1000 == 0:
            progress("analyse", min(line, total_lines), total_lines)
        if len(cells) < width or (len(cells) > width and any(c.strip() for c in cells[width:])):
            # Still in the file: its number, when readable, keeps it off the missing list.
            position = positions[key]
            readable = normalize_identifier(kind, cells[position]) if position < len(cells) else None
            if readable is not None:
                present.add(readable)
        if len(cells) < width:
            rejected.append(Rejected(line, f"{len(cells)} colonne(s) au lieu de {width} (vérifiez le séparateur et les guillemets)"))
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            rejected.append(Rejected(line, f"{len(cells)} colonnes au lieu de {width} (vérifiez le séparateur et les guillemets)"))
            continue

        def cell(name: str) -> str:
            return cells[positions[name]].strip() if name in positions else ""

        errors: list[str] = []
        # The key column names the account, read as the login reads it: the agrément number
        # (which is then also the agrément's), or the email where it is the identifier.
        what = "numéro d'agrément" if key == "agrement_number" else "adresse électronique"
        raw_key = cell(key)
        identifier = normalize_identifier(kind, raw_key) if raw_key else None
        number: str | None = identifier
        if not raw_key:
            errors.append(f"{what} manquant{'e' if key == 'email' else ''}")
        elif identifier is None:
            errors.append(f"{what} invalide « {_short(raw_key)} » ({IDENTIFIER_KINDS[kind]})")
        elif key == "agrement_number" and len(identifier) > MAX_AGREMENT_NUMBER:
            errors.append(f"numéro d'agrément trop long ({MAX_AGREMENT_NUMBER} caractères au plus)")
            identifier = None
        elif identifier in first_line:
            rejected.append(Rejected(line, f"{what} {identifier} en double : déjà à la ligne {first_line[identifier]}"))
            continue
        else:
            first_line[identifier] = line
        if key == "email":
            raw_number = cell("agrement_number")
            number = normalize_identifier("agrement_number", raw_number) if raw_number else None
            if not raw_number:
                errors.append("numéro d'agrément manquant")
            elif number is None:
                errors.append(f"numéro d'agrément invalide « {_short(raw_number)} » ({IDENTIFIER_KINDS['agrement_number']})")
            elif number in numbers:
                errors.append(f"numéro d'agrément {number} en double : déjà à la ligne {numbers[number]}")
            else:
                numbers[number] = line

        account: dict[str, Any] = {}
        publication: bool | None = None
        for name in ("last_name", "first_name", "phone", "address", "city", "family_situation"):
            if name in positions:
                value = unicodedata.normalize("NFC", cell(name)) or None
                if value is not None and len(value) > MAX_LENGTHS[name]:
                    errors.append(f"{LABELS[name]} trop long ({MAX_LENGTHS[name]} caractères au plus)")
                account[name] = value
        for name in ("last_name", "first_name"):
            if name in positions and not account[name]:
                errors.append(f"{LABELS[name]} manquant")
        if "civility" in positions:
            raw = cell("civility")
            account["civility"] = CIVILITIES.get(raw.casefold()) if raw else None
            if raw and account["civility"] is None:
                errors.append(f"civilité invalide « {_short(raw)} » (M ou Mme attendu)")
        if "birth_date" in positions:
            raw = cell("birth_date")
            account["birth_date"] = _parse_date(raw) if raw else None
            if raw and account["birth_date"] is None:
                errors.append(f"date de naissance invalide « {_short(raw)} » (JJ/MM/AAAA attendu)")
            elif account["birth_date"] is not None and account["birth_date"] > today:
                errors.append(f"date de naissance dans le futur « {raw} »")
        if "email" in positions:
            raw = cell("email")
            # The mailer's own rule: an address stored here is one the lock notice can reach.
            address = plain_address(raw) if raw else None
            if raw and address is None:
                errors.append(f"adresse électronique invalide « {_short(raw)} »")
            account["email"] = address
            account["email_key"] = address_key(address) if address else None
        if "postal_code" in positions:
            raw = cell("postal_code")
            if raw and not _POSTAL_CODE.match(raw):
                errors.append(f"code postal invalide « {_short(raw)} » (5 chiffres attendus)")
            account["postal_code"] = raw or None
        if "publication" in positions:
            raw = cell("publication").casefold()
            if raw not in ("oui", "non", ""):
                errors.append(f"publication invalide « {_short(cell('publication'))} » (oui ou non attendu)")
            publication = None if not raw else raw == "oui"  # empty: her standing choice is kept

        mam = unicodedata.normalize("NFC", " ".join(cell("mam").split())) if "mam" in positions else None

        agrement: dict[str, Any] = {}
        for name, label in (("agrement_start", "date de début d'agrément"), ("agrement_end", "date de fin d'agrément")):
            if name in positions:
                raw = cell(name)
                agrement[AGREMENT_FIELDS[name]] = _parse_date(raw) if raw else None
                if raw and agrement[AGREMENT_FIELDS[name]] is None:
                    errors.append(f"{label} invalide « {_short(raw)} » (JJ/MM/AAAA attendu)")
        start, end = agrement.get("start_date"), agrement.get("end_date")
        if start is not None and end is not None and end < start:
            errors.append("date de fin d'agrément antérieure à la date de début")
        if "agrement_place" in positions:
            place = unicodedata.normalize("NFC", cell("agrement_place")) or None
            if place is not None and len(place) > MAX_LENGTHS["agrement_place"]:
                errors.append(f"{LABELS['agrement_place']} trop long ({MAX_LENGTHS['agrement_place']} caractères au plus)")
            agrement["place"] = place
        if "agrement_status" in positions:
            raw = cell("agrement_status")
            key = re.sub(r"[\s\-']+", "_", _unaccent(raw).casefold())
            if key not in AGREMENT_STATUS_VALUES:
                errors.append(f"statut d'agrément inconnu « {_short(raw)} » (valide, en_renouvellement, en_revision, "
                              "suspendu, retire ou expire attendu)")
            agrement["status"] = AGREMENT_STATUS_VALUES.get(key)
        if "capacity" in positions:
            raw = cell("capacity")
            agrement["capacity"] = int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 6 else None
            if raw and agrement["capacity"] is None:
                errors.append(f"capacité invalide « {_short(raw)} » (nombre entier de 1 à 6 attendu)")

        if errors:
            rejected.append(Rejected(line, " ; ".join(errors)))
            continue
        assert identifier is not None and number is not None
        rows.append(ParsedRow(line, identifier, number, account, agrement, publication, mam))
    if count == 0:
        raise ImportFileError("Le fichier ne contient que l'en-tête : aucune assistante à importer.")
    if progress is not None:
        progress("analyse", total_lines, total_lines)
    return ParsedFile(
        encoding=encoding, rows=rows, rejected=rejected, seen=set(first_line) | present, total_rows=count,
        account_fields=account_fields, agrement_fields=agrement_fields, warnings=warnings,
    )


# -- applying it -----------------------------------------------------------------------------------

def _chunks(items: Sequence[T], size: int = BATCH) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Writes:
    """Counts written rows across phases for one progress bar."""

    def __init__(self, total: int, progress: Progress | None):
        self.total = max(total, 1)
        self.done = 0
        self.progress = progress

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress("écriture", min(self.done, self.total), self.total)


async def import_assistants(
    db: AsyncSession,
    tenant: Tenant,
    data: bytes,
    filename: str,
    *,
    dry_run: bool,
    admin_id: int | None = None,
    by: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file for one tenant and store the run (an ImportRun and an audit line, dry
    run or not). ImportFileError when the file cannot be read: nothing is written then."""
    started = time.perf_counter()
    slug = tenant.slug
    config = tenant.config
    parsed = await asyncio.to_thread(parse_file, data, config, progress)
    report = ImportReport(
        tenant=slug, filename=filename, dry_run=dry_run, encoding=parsed.encoding, rows=parsed.total_rows,
        warnings=list(parsed.warnings),
    )
    rejected = list(parsed.rejected)
    now = clock.now()
    # Which fiches are public before, to count the ones this import publishes or takes down.
    publishes = config.publication is not None and not dry_run
    published_before = await published_ids(db, tenant) if publishes else set()
    answers: dict[int, bool] = {}  # account id → the file's `publication` (oui: True)

    account_columns = [getattr(Account, name) for name in parsed.account_fields]
    existing = {
        row.identifier: row
        for row in (await db.execute(
            select(
                Account.id, Account.identifier, Account.kind, Account.missing_from_import_at,
                Account.password_hash.is_not(None).label("activated"), *account_columns,
            ).where(Account.tenant_id == slug)
        )).all()
    }
    agrements = {
        row.number: row
        for row in (await db.execute(
            select(Agrement.id, Agrement.number, Agrement.account_id, *[getattr(Agrement, n) for n in parsed.agrement_fields])
            .where(Agrement.tenant_id == slug)
        )).all()
    }

    # The MAM column: a name matched among the tenant's MAM (case, accents and hyphens aside).
    mams = await structures.mams_by_name(db, tenant) if "mam" in config.features.structures else {}
    memberships: dict[str, int | None] = {}  # identifier → its MAM's id (None: at home)

    new_rows: list[ParsedRow] = []
    account_updates: list[dict[str, Any]] = []
    agrement_updates: list[dict[str, Any]] = []
    agrement_inserts: list[dict[str, Any]] = []  # for existing accounts without one
    returned_ids: list[int] = []
    for row in parsed.rows:
        old = existing.get(row.identifier)
        held = agrements.get(row.number) if config.import_key == "email" else None
        if held is not None and (old is None or held.account_id != old.id):
            # Keyed by email, an agrément number is another column: it may already be someone's.
            rejected.append(Rejected(row.line, f"le numéro d'agrément {row.number} est déjà celui d'un autre compte"))
            continue
        if row.mam:
            if structures.name_key(row.mam) not in mams:
                rejected.append(Rejected(row.line, f"MAM inconnue « {_short(row.mam)} » : aucune MAM de ce portail ne "
                                         "porte ce nom (créez-la dans la console ou corrigez le nom)"))
                continue
        if old is not None and old.kind != "assistant" and row.mam is not None:
            rejected.append(Rejected(row.line, f"l'identifiant {row.identifier} n'est pas celui d'une assistante"))
            continue
        if row.mam is not None:
            memberships[row.identifier] = mams[structures.name_key(row.mam)] if row.mam else None
        if old is None:
            new_rows.append(row)
            continue
        if old.kind == "parent":
            rejected.append(Rejected(row.line, f"l'identifiant {row.identifier} est celui d'un compte parent, pas d'une assistante"))
            continue
        if row.publication is not None:
            answers[old.id] = row.publication
        values = dict(row.account)
        if old.activated and "email" in values:
            values["email"], values["email_key"] = old.email, old.email_key  # the owner's own address now
        changed = any(getattr(old, name) != value for name, value in values.items())
        if changed:
            account_updates.append({"id": old.id, **values, "imported_at": now, "updated_at": now})
        current = agrements.get(row.number)
        if current is None:
            agrement_inserts.append({"tenant_id": slug, "number": row.number, "account_id": old.id, **row.agrement})
            changed = True
        elif current.account_id != old.id or any(getattr(current, n) != v for n, v in row.agrement.items()):
            agrement_updates.append({"id": current.id, "account_id": old.id, **row.agrement})
            changed = True
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
        if old.missing_from_import_at is not None:
            returned_ids.append(old.id)
            report.returned.append(row.identifier)
    report.created = len(new_rows)
    letter_mode = config.activation.mode == "letter"
    if letter_mode:
        report.letters = [row.identifier for row in new_rows]
    missing = [old for identifier, old in existing.items() if old.kind == "assistant" and identifier not in parsed.seen]
    report.missing = sorted(old.identifier for old in missing)
    newly_missing = [old.id for old in missing if old.missing_from_import_at is None]
    rejected.sort(key=lambda r: r.line)
    report.rejected = rejected

    if not dry_run:
        writes = _Writes(
            len(new_rows) * (3 if letter_mode else 2) + len(account_updates) + len(agrement_updates)
            + len(agrement_inserts) + len(returned_ids) + len(newly_missing),
            progress,
        )
        try:
            created_ids = await _write(db, tenant, now, new_rows, account_updates, agrement_updates, agrement_inserts,
                                       returned_ids, newly_missing, letter_mode, writes)
            answers.update({created_ids[row.identifier]: row.publication for row in new_rows if row.publication is not None})
            await _publication(db, tenant, report, answers, published_before, by=by, dry_run=False)
            ids = {identifier: old.id for identifier, old in existing.items()} | created_ids
            await structures.set_memberships(db, tenant, {ids[identifier]: mam for identifier, mam in memberships.items()},
                                             by or "import")
            # Names, addresses, agréments and choices changed in bulk: the search table anew, once.
            await fiche_changed(db, tenant, None)
        except IntegrityError:
            await db.rollback()
            raise ImportFileError(
                "Des comptes ont été créés pendant l'import (un autre import en cours ?) : rien n'a été modifié, recommencez."
            ) from None
    else:
        # New accounts have no id yet: stand-ins, for counting the register lines they would get.
        answers.update({-index: row.publication for index, row in enumerate(new_rows, 1) if row.publication is not None})
        await _publication(db, tenant, report, answers, set(), by=by, dry_run=True)

    run = ImportRun(
        tenant_id=slug, admin_id=admin_id, filename=filename[:255], dry_run=dry_run, created_at=now,
        counts=report.counts, rejected=[{"line": r.line, "reason": r.reason} for r in rejected[:MAX_STORED_REJECTS]],
        missing=report.missing,
    )
    db.add(run)
    await db.flush()
    report.run_id = run.id
    await audit.record(db, slug, EventType.IMPORT_DRY_RUN if dry_run else EventType.IMPORT_APPLIED, run_id=run.id, filename=filename[:255],
                       by=by, **report.counts)
    await db.commit()
    report.seconds = time.perf_counter() - started
    return report


async def _publication(db: AsyncSession, tenant: Tenant, report: ImportReport, answers: dict[int, bool],
                       published_before: set[int], *, by: str | None, dry_run: bool) -> None:
    """The `publication` column into the register (by the tenant's regime), then, once applied,
    the fiches this import published, took down by her choice, or suspended by the agrément."""
    if tenant.config.publication is None:
        return
    choices = await apply_imported_choices(db, tenant, answers, by=by, dry_run=dry_run)
    report.choices = choices.recorded
    if choices.ignored:
        report.warnings.append(
            "Colonne « publication » ignorée : sur ce portail, la publication des fiches est obligatoire "
            "(article R. 421-39 du code de l'action sociale et des familles)."
        )
    if dry_run:
        return
    published_after = await published_ids(db, tenant)
    taken_down = published_before - published_after
    suspended = await unpublished_by_suspension(db, tenant, taken_down)
    report.published = len(published_after - published_before)
    report.suspended = len(suspended)
    report.unpublished = len(taken_down - suspended)


async def _write(
    db: AsyncSession, tenant: Tenant, now: datetime, new_rows: list[ParsedRow],
    account_updates: list[dict[str, Any]], agrement_updates: list[dict[str, Any]],
    agrement_inserts: list[dict[str, Any]], returned_ids: list[int], newly_missing: list[int],
    letter_mode: bool, writes: _Writes,
) -> dict[str, int]:
    """Write the changes; the new accounts' ids by identifier."""
    slug = tenant.slug
    # executemany without RETURNING (a pipeline on psycopg; a multi-row INSERT … RETURNING costs
    # more to build than to run), then one query for the new ids.
    for batch in _chunks(new_rows):
        await db.execute(insert(ACCOUNTS), [{
            "tenant_id": slug, "kind": "assistant", "identifier": row.identifier, **row.account,
            "imported_at": now, "created_at": now, "updated_at": now,
        } for row in batch])
        writes.advance(len(batch))
    created_ids: dict[str, int] = {}
    if new_rows:
        new_identifiers = {row.identifier for row in new_rows}
        created_ids = {
            identifier: id_
            for id_, identifier in (await db.execute(
                select(Account.id, Account.identifier).where(Account.tenant_id == slug, Account.created_at == now)
            )).all()
            if identifier in new_identifiers
        }
    for batch in _chunks([
        {"tenant_id": slug, "number": row.number, "account_id": created_ids[row.identifier], **row.agrement}
        for row in new_rows
    ] + agrement_inserts):
        await db.execute(insert(Agrement.__table__), list(batch))
        writes.advance(len(batch))
    if letter_mode:
        # A temporary password per new account, stored as the keyed hash a login checks. It is
        # never shown (256 random bits nobody can type): the account awaits its letter, and the
        # console's letter action issues the printed one, which replaces it.
        for batch in _chunks(new_rows):
            await TokenService(db).issue_unheld(
                TEMPORARY_PASSWORD, [Principal("account", created_ids[row.identifier], slug) for row in batch],
                LETTER_TTL, data={"reason": "import"},
            )
            writes.advance(len(batch))
    for batch in _chunks(account_updates):
        await db.execute(update(Account), list(batch))
        writes.advance(len(batch))
    for batch in _chunks(agrement_updates):
        await db.execute(update(Agrement), list(batch))
        writes.advance(len(batch))
    for batch in _chunks(returned_ids):
        await db.execute(
            update(Account).where(Account.tenant_id == slug, Account.id.in_(batch)).values(missing_from_import_at=None),
            execution_options={"synchronize_session": False},
        )
        writes.advance(len(batch))
    for batch in _chunks(newly_missing):
        await db.execute(
            update(Account).where(Account.tenant_id == slug, Account.id.in_(batch)).values(missing_from_import_at=now),
            execution_options={"synchronize_session": False},
        )
        writes.advance(len(batch))
    return created_ids


# -- the runs, for the console ---------------------------------------------------------------------


async def recent_runs(db: AsyncSession, tenant_slug: str, limit: int = 50) -> list[ImportRun]:
    """The tenant's latest imports, newest first."""
    return list(await db.scalars(
        select(ImportRun).where(ImportRun.tenant_id == tenant_slug).order_by(ImportRun.id.desc()).limit(limit)
    ))


async def find_run(db: AsyncSession, tenant_slug: str, run_id: int) -> ImportRun | None:
    """One of the tenant's imports; another tenant's is None, like a missing one."""
    return await db.scalar(select(ImportRun).where(ImportRun.id == run_id, ImportRun.tenant_id == tenant_slug))
