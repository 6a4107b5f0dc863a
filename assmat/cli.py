"""The `assmat` command: serve, check-config, db, demo, and the daily jobs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from assmat.core.settings import ConfigurationError, Settings
from assmat.tenants.advisories import advisories
from assmat.tenants.loader import InvalidConfiguration, load_tenants, load_valid_tenants
from assmat.tenants.registry import TenantRegistry


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def check_config(directory: Path, base_domain: str) -> int:
    tenants, errors = load_tenants(directory)
    if not errors:
        try:
            TenantRegistry(tenants, base_domain)
        except InvalidConfiguration as exc:
            errors = exc.errors
    for tenant in tenants.values():
        fc = tenant.config.franceconnect
        if fc.enabled and not os.environ.get(fc.client_secret_env):
            errors.append(f"{tenant.source.name}: franceconnect.client_secret_env : la variable d'environnement "
                          f"{fc.client_secret_env} (le secret FranceConnect) n'est pas définie")
    for error in errors:
        print(f"ERREUR {error}", file=sys.stderr)
    for tenant in tenants.values():
        for note in advisories(tenant.config):
            print(f"AVIS {tenant.source.name}: {note}")
    if errors:
        print(f"{len(errors)} erreur(s) : configuration refusée.", file=sys.stderr)
        return 1
    print(f"{len(tenants)} tenant(s) valide(s) : {', '.join(tenants)}")
    return 0


def _registry(settings: Settings) -> TenantRegistry:
    return TenantRegistry(load_valid_tenants(settings.tenant_configs), settings.base_domain)


def _chosen_tenants(registry: TenantRegistry, slug: str | None) -> list | None:
    """The tenant a daily command names, or every tenant without a name; None for an unknown name."""
    if not slug:
        return list(registry.tenants.values())
    tenant = registry.get(slug)
    return None if tenant is None else [tenant]


def _each_tenant(settings: Settings, registry: TenantRegistry, tenants: list, work, wanted=lambda tenant: True) -> dict:
    """`await work(db, tenant)` for each tenant `wanted` says, each in a session of its own,
    committed: the daily commands' loop. The answers by slug."""
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.tenants.rows import sync_tenant_rows

    async def run() -> dict:
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            answers = {}
            for tenant in tenants:
                if not wanted(tenant):
                    continue
                async with sessionmaker() as db:
                    answers[tenant.slug] = await work(db, tenant)
                    await db.commit()
            return answers
        finally:
            await engine.dispose()

    return asyncio.run(run())


def serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from assmat.app import create_app, uvicorn_log_config

    app = create_app(settings, _registry(settings))  # refuses a bad configuration before any worker starts
    # Forwarded headers are trusted from FORWARDED_ALLOW_IPS (uvicorn: 127.0.0.1 unless set), so the
    # client address seen behind the proxy is the real one.
    # Tokens in reset and activation paths never reach the access log.
    options = {"host": host, "port": port, "proxy_headers": True, "log_level": "info", "log_config": uvicorn_log_config()}
    if settings.serve_workers > 1:
        # Each worker process builds its own app from the same environment.
        uvicorn.run("assmat.app:create_app", factory=True, workers=settings.serve_workers, **options)
    else:
        uvicorn.run(app, **options)
    return 0


def demo(settings: Settings, port: int) -> int:
    from assmat.core.security.hashing import make_hasher
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.demo import (
        PASSWORD_CHANGED, load_demo, load_demo_admins, load_demo_availability, load_demo_extras, load_demo_fiches,
        load_demo_directory, load_demo_family, load_demo_habilitation, load_demo_publication, load_demo_structures,
        demo_searches,
    )
    from assmat.tenants.rows import sync_tenant_rows

    if settings.is_production:
        # The demo creates a super-admin and accounts whose passwords are published in the README.
        return _fail("ERREUR assmat demo refusé : ASSMAT_ENV=production. Les données de démonstration créent un "
                     "super-administrateur au mot de passe public ; utilisez une base de développement.")
    registry = _registry(settings)

    async def run():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            hasher = make_hasher(settings)
            accounts = await load_demo(sessionmaker, registry.tenants, hasher)
            accounts += await load_demo_extras(sessionmaker, registry.tenants, hasher, settings)
            await load_demo_publication(sessionmaker, registry.tenants)
            await load_demo_habilitation(sessionmaker, registry.tenants)
            await load_demo_availability(sessionmaker, registry.tenants)
            fiches = await load_demo_fiches(sessionmaker, registry.tenants)
            accounts += await load_demo_structures(sessionmaker, registry.tenants, hasher, settings)
            await load_demo_directory(sessionmaker, registry.tenants)
            await load_demo_family(sessionmaker, registry.tenants)
            searches = await demo_searches(sessionmaker, registry.tenants)
            return accounts, await load_demo_admins(sessionmaker, registry.tenants, hasher), fiches, searches
        finally:
            await engine.dispose()

    accounts, admins, fiches, searches = asyncio.run(run())
    suffix = "" if port == 80 else f":{port}"
    print("\nPortails de démonstration :")
    print(f"  plateforme          http://{settings.base_domain}{suffix}/")
    for account in accounts:
        url = f"http://{account.tenant.slug}.{settings.base_domain}{suffix}/"
        state = "créé" if account.created else "déjà présent"
        password = f"  mot de passe {account.password}" if account.password else ""
        note = f" — {account.note}" if account.note else ""
        print(f"  {account.tenant.slug:<20}{url:<42}identifiant {account.identifier}{password}  ({state}){note}")
    if fiches:
        print("\nFiches publiques des assistants maternels :")
        for fiche in fiches:
            url = f"http://{fiche.tenant.slug}.{settings.base_domain}{suffix}/assistants/{fiche.public_id}"
            print(f"  {fiche.tenant.slug:<20}{url:<62}{fiche.note}")
    if searches:
        print("\nRecherche des parents :")
        for tenant, path in searches:
            print(f"  {tenant.slug:<20}http://{tenant.slug}.{settings.base_domain}{suffix}{path}")
    print("\nConsoles (/admin) :")
    for where, email, password in admins:
        host = settings.base_domain if where == "plateforme" else f"{where}.{settings.base_domain}"
        secret = f"mot de passe {password}" if password else f"— {PASSWORD_CHANGED}"
        print(f"  {where:<20}{f'http://{host}{suffix}/admin/':<46} {email}  {secret}")
    if settings.mail_backend == "file":
        print(f"\nLes courriels (mots de passe provisoires, liens) sont écrits dans {settings.mail_dir}/ (fichiers .eml).")
    if settings.database_url.startswith("sqlite"):
        print(f"Pour repartir de zéro : arrêtez le serveur, supprimez {settings.var_dir}/ (ou `make clean`, qui "
              "supprime aussi .venv), puis relancez `make run`.")
    else:
        print("Pour repartir de zéro : videz la base de démonstration (ASSMAT_DATABASE_URL), puis relancez "
              "`assmat db upgrade` et `assmat demo`.")
    print()
    return 0


def mail_worker(settings: Settings) -> int:
    from assmat.core.mail.sender import make_backend
    from assmat.core.mail.worker import run_standalone

    print(f"Envoi des courriels en attente ({make_backend(settings).description}) ; Ctrl+C pour arrêter.", flush=True)
    asyncio.run(run_standalone(settings))
    print("Envoi des courriels arrêté.", flush=True)
    return 0


PURGE_LABELS = {
    "captcha_challenges": "captchas expirés ou utilisés",
    "franceconnect_requests": "connexions FranceConnect échues ou terminées",
    "rate_limits": "compteurs de limitation échus",
    "sessions": "sessions du portail et des consoles expirées",
    "account_tokens": "liens et mots de passe provisoires expirés ou utilisés",
    "outbox": "courriels envoyés ou en échec",
}


def purge(settings: Settings) -> int:
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.core.db.purge import Retention, purge as run_purge

    async def run():
        engine = make_engine(settings.database_url)
        try:
            return await run_purge(make_sessionmaker(engine), Retention.from_settings(settings))
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    for table, count in report.deleted.items():
        print(f"  {PURGE_LABELS[table]} : {count}")
    print(f"Purge terminée : {report.total} ligne(s) supprimée(s).")
    return 0


def create_account(settings: Settings, args: argparse.Namespace) -> int:
    from assmat.core.security.hashing import make_hasher
    from assmat.auth import staff_actions
    from assmat.auth.context import auth_context
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.tenants.rows import sync_tenant_rows
    from assmat.core.dates import parse_french_date

    registry = _registry(settings)
    tenant = registry.get(args.tenant)
    if tenant is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")
    birth_date = None
    if args.birth_date:
        birth_date = parse_french_date(args.birth_date)
        if birth_date is None:
            return _fail("ERREUR --birth-date : date attendue au format JJ/MM/AAAA")

    async def run():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            async with sessionmaker() as db:
                return await staff_actions.create_account(
                    auth_context(db, tenant, make_hasher(settings), settings),
                    args.identifier, email=args.email, first_name=args.first_name, last_name=args.last_name,
                    birth_date=birth_date, kind=args.kind, with_temporary_password=args.temporary_password,
                )
        finally:
            await engine.dispose()

    try:
        account, password = asyncio.run(run())
    except ValueError as exc:
        return _fail(f"ERREUR {exc}")
    print(f"Compte créé : {tenant.slug} / {account.identifier}")
    if password:
        print(f"Mot de passe provisoire (affiché une seule fois, à changer à la première connexion) : {password}")
    else:
        print(f"Mode d'activation du tenant : {tenant.config.activation.mode}")
    return 0


def habilitations_expire(settings: Settings, args: argparse.Namespace) -> int:
    """Expires the habilitation requests left without a step for `habilitation.expire_after_days`
    (tenants with an `habilitation` section), each emailed and audited: once a day from cron; a
    rerun expires nothing twice."""
    from assmat.core.mail.links import mail_base_url
    from assmat.portal.habilitation.service import expire_abandoned

    registry = _registry(settings)
    tenants = _chosen_tenants(registry, args.tenant)
    if tenants is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")

    expired = _each_tenant(settings, registry, tenants,
                           lambda db, tenant: expire_abandoned(db, tenant, base_url=mail_base_url(settings, tenant)),
                           wanted=lambda tenant: tenant.config.habilitation is not None)
    for slug, count in expired.items():
        print(f"  {slug} : {count} demande(s) d'habilitation expirée(s)")
    print(f"Demandes d'habilitation expirées : {sum(expired.values())} (courriels mis en file d'envoi).")
    return 0


def registrations_expire(settings: Settings, args: argparse.Namespace) -> int:
    """Deletes the family accounts created online whose address was not confirmed within
    `families.confirmation_ttl` (tenants with `families.signup`): once a day from cron; a rerun
    deletes nothing twice."""
    from assmat.auth.context import auth_context
    from assmat.auth.registration import expire_registrations
    from assmat.core.security.hashing import make_hasher

    registry = _registry(settings)
    tenants = _chosen_tenants(registry, args.tenant)
    if tenants is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")
    hasher = make_hasher(settings)
    expired = _each_tenant(settings, registry, tenants,
                           lambda db, tenant: expire_registrations(auth_context(db, tenant, hasher, settings)),
                           wanted=lambda tenant: tenant.config.features.parents)
    for slug, count in expired.items():
        print(f"  {slug} : {count} compte(s) famille non confirmé(s) supprimé(s)")
    print(f"Comptes familles non confirmés supprimés : {sum(expired.values())}.")
    return 0


def availability_reminders(settings: Settings, args: argparse.Namespace) -> int:
    """Queues today's availability reminders (before 1 June and 1 December, one month before a
    declared future date): meant to run once a day from cron; a rerun sends nothing twice."""
    from assmat.core import clock
    from assmat.core.mail.links import mail_base_url
    from assmat.portal.availability.service import send_reminders

    registry = _registry(settings)
    tenants = _chosen_tenants(registry, args.tenant)
    if tenants is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")

    queued = _each_tenant(settings, registry, tenants, lambda db, tenant: send_reminders(
        db, tenant, clock.today(), base_url=mail_base_url(settings, tenant)))
    for slug, count in queued.items():
        print(f"  {slug} : {count} rappel(s) de disponibilités")
    print(f"Rappels mis en file d'envoi : {sum(queued.values())} (le serveur ou « assmat mail-worker » les envoie).")
    return 0


def alerts_send(settings: Settings, args: argparse.Namespace) -> int:
    """Queues the alerts of the families' saved searches (a new matching childminder, a declared
    place free within a month): meant to run from cron, say every hour; a rerun tells nothing twice."""
    from assmat.core.mail.links import mail_base_url
    from assmat.portal.families.service import offers_families, send_alerts
    from assmat.tenants.geocoding import geocoder_for

    registry = _registry(settings)
    tenants = _chosen_tenants(registry, args.tenant)
    if tenants is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")

    queued = _each_tenant(settings, registry, tenants, lambda db, tenant: send_alerts(
        db, tenant, geocoder_for(settings, tenant), base_url=mail_base_url(settings, tenant)), wanted=offers_families)
    for slug, count in queued.items():
        print(f"  {slug} : {count} alerte(s) de recherche")
    print(f"Alertes mises en file d'envoi : {sum(queued.values())} (le serveur ou « assmat mail-worker » les envoie).")
    return 0


def import_assistants(settings: Settings, args: argparse.Namespace) -> int:
    import assmat.portal.directory.service  # noqa: F401  (the import refreshes the search table)
    from assmat.portal.imports.service import ImportFileError, import_assistants as run_import
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.tenants.rows import sync_tenant_rows

    registry = _registry(settings)
    tenant = registry.get(args.tenant)
    if tenant is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        why = {FileNotFoundError: "introuvable", PermissionError: "accès refusé", IsADirectoryError: "c'est un dossier"}
        return _fail(f"ERREUR fichier illisible : {path} ({why.get(type(exc), exc.strerror or str(exc))})")
    shown: dict[str, int] = {}
    in_place = sys.stderr.isatty()  # a terminal: one bar redrawn; a log: a line every 25 %

    def progress(phase: str, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        step = percent if in_place else percent // 25 * 25
        if shown.get(phase) == step:
            return
        shown[phase] = step
        bar = f"{phase:<9} [{'#' * (step // 4):<25}] {step:3d} %"
        sys.stderr.write(f"\r{bar}" + ("\n" if step == 100 else "") if in_place else f"{bar}\n")
        sys.stderr.flush()

    async def run():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            async with sessionmaker() as db:
                return await run_import(db, tenant, data, path.name,
                                        dry_run=args.dry_run, by="cli", progress=progress)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except ImportFileError as exc:
        if shown and in_place:
            sys.stderr.write("\n")
        return _fail(f"ERREUR {path.name} : {exc.message}")
    mode = "simulation, rien n'a été modifié" if report.dry_run else "appliqué"
    print(f"Import de {report.filename} pour {tenant.slug} ({mode}) — encodage {report.encoding}, {report.seconds:.1f} s")
    for warning in report.warnings:
        print(f"  AVIS {warning}")
    print(f"  lignes lues  : {report.rows}")
    print(f"  créés        : {report.created}")
    print(f"  mis à jour   : {report.updated}")
    print(f"  inchangés    : {report.unchanged}")
    print(f"  rejetés      : {len(report.rejected)}")
    for rejected in report.rejected[:50]:
        print(f"    ligne {rejected.line} : {rejected.reason}")
    if len(report.rejected) > 50:
        print(f"    … {len(report.rejected) - 50} de plus")
    if report.returned:
        print(f"  de retour dans le fichier : {len(report.returned)}")
    print(f"  absents du fichier (rien n'est supprimé, à examiner) : {len(report.missing)}")
    for identifier in report.missing[:50]:
        print(f"    {identifier}")
    if len(report.missing) > 50:
        print(f"    … {len(report.missing) - 50} de plus (liste complète dans la console, historique des imports)")
    if tenant.config.activation.mode == "letter":
        verb = "nécessiteront" if report.dry_run else "nécessitent"
        print(f"  courriers à imprimer : {len(report.letters)} nouveau(x) compte(s) {verb} un courrier "
              "(console, Comptes, action « Imprimer le courrier »)")
    if not report.dry_run:
        # The import never waits on the network: the geocoder runs apart (cron or by hand).
        waiting = _geocoding_waiting(settings, registry, tenant)
        if waiting:
            print(f"  géolocalisation en attente : {waiting} adresse(s) (« assmat geocode {tenant.slug} » ou la tâche "
                  "planifiée)")
    return 0


def _geocoding_waiting(settings: Settings, registry: TenantRegistry, tenant) -> int:
    """How many of the tenant's fiches wait for the geocoder (no network involved)."""
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.portal.profile.geolocation import count_waiting

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as db:
                return await count_waiting(db, tenant)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def geocode(settings: Settings, args: argparse.Namespace) -> int:
    """Geocodes the fiches whose address is new or changed, tenant by tenant, throttled, with a
    progress bar on stderr; a tenant without a geocoder is skipped, an unreachable one stops its
    tenant's run (what was found is kept) and the command says so."""
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.portal.profile.geolocation import geocode_pending
    from assmat.tenants.geocoding import geocoder_for
    from assmat.tenants.rows import sync_tenant_rows

    registry = _registry(settings)
    tenants = _chosen_tenants(registry, args.tenant)
    if tenants is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")
    in_place = sys.stderr.isatty()

    def progress_for(slug: str):
        shown: set[int] = set()

        def progress(done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            step = percent if in_place else percent // 25 * 25
            if step in shown:
                return
            shown.add(step)
            bar = f"{slug:<14} [{'#' * (step // 4):<25}] {done}/{total}"
            sys.stderr.write(f"\r{bar}" + ("\n" if done == total else "") if in_place else f"{bar}\n")
            sys.stderr.flush()

        return progress

    async def run() -> list[tuple[str, object]]:
        engine = make_engine(settings.database_url)
        results: list[tuple[str, object]] = []
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            for tenant in tenants:
                geocoder = geocoder_for(settings, tenant)
                if geocoder is None:
                    results.append((tenant.slug, None))
                    continue
                async with sessionmaker() as db:
                    report = await geocode_pending(db, tenant, geocoder, limit=args.limit,
                                                   progress=progress_for(tenant.slug))
                    await db.commit()
                results.append((tenant.slug, report))
        finally:
            await engine.dispose()
        return results

    stopped = False
    for slug, report in asyncio.run(run()):
        if report is None:
            print(f"  {slug} : géolocalisation désactivée (aucun géocodeur configuré)")
            continue
        print(f"  {slug} : {report.geocoded} géolocalisée(s), dont {report.low_score} à vérifier (score faible ou "
              f"commune seule) ; {report.failed} introuvable(s) ; sur {report.total} en attente")
        if report.unavailable:
            stopped = True
            print(f"  {slug} : géocodeur injoignable, arrêt ; le reste sera traité au prochain passage")
    return 1 if stopped else 0


def directory_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuilds the parents' search table of one tenant, or of every tenant that publishes (each
    night: an agrément that starts today enters the search)."""
    from assmat.portal.directory.service import rebuild_entries

    registry = _registry(settings)
    tenants = _chosen_tenants(registry, args.tenant)
    if tenants is None:
        return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)})")

    counts = _each_tenant(settings, registry, tenants, rebuild_entries,
                          wanted=lambda tenant: tenant is not None and tenant.config.publication is not None)
    for slug, count in counts.items():
        print(f"{slug} : {count} fiche(s) dans la recherche")
    if not counts:
        print("Aucun portail ne publie de fiches : rien à reconstruire.")
    return 0


def create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from assmat.auth.staff import AdminService
    from assmat.core.security.hashing import make_hasher
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.core.mail.links import mail_base_url
    from assmat.tenants.rows import sync_tenant_rows

    registry = _registry(settings)
    tenant = None
    if not args.super:
        tenant = registry.get(args.tenant)
        if tenant is None:
            return _fail(f"ERREUR tenant inconnu : {args.tenant} (connus : {', '.join(registry.tenants)}) ; --super pour la plateforme")
    base = mail_base_url(settings, tenant)

    async def run():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            async with sessionmaker() as db:
                service = AdminService(db, make_hasher(settings), tenant)
                await service.invite(args.email, "super" if args.super else args.role, base, settings.platform_mail_from)
                await db.commit()
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except ValueError as exc:
        return _fail(f"ERREUR {exc}")
    where = tenant.slug if tenant else "plateforme (super-admin)"
    print(f"Accès console créé : {args.email} ({where}). Un lien pour choisir le mot de passe lui est envoyé par courriel.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assmat", description="Portails des assistants maternels, un tenant par fichier YAML.")
    commands = parser.add_subparsers(dest="command", required=True)

    p_serve = commands.add_parser("serve", help="servir l'application (uvicorn)")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)

    p_check = commands.add_parser("check-config", help="valider les fichiers de tenants et afficher les avis")
    p_check.add_argument("directory", nargs="?", type=Path)

    p_db = commands.add_parser("db", help="base de données")
    db_commands = p_db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="appliquer les migrations")
    p_down = db_commands.add_parser("downgrade", help="revenir à une migration")
    p_down.add_argument("revision")
    p_rev = db_commands.add_parser("revision", help="générer une migration depuis les modèles (développeurs)")
    p_rev.add_argument("message")

    p_demo = commands.add_parser("demo", help="charger les données de démonstration (idempotent)")
    p_demo.add_argument("--port", type=int, default=8000, help="port affiché dans les adresses")

    commands.add_parser("mail-worker", help="envoyer les courriels en attente (hors du serveur web)")
    commands.add_parser("purge", help="supprimer les captchas, sessions, liens et courriels échus (ASSMAT_RETENTION_*)")

    p_account = commands.add_parser("create-account", help="créer un compte (mode courrier : avec mot de passe provisoire)")
    p_account.add_argument("tenant")
    p_account.add_argument("identifier")
    p_account.add_argument("--email", required=True)
    p_account.add_argument("--first-name")
    p_account.add_argument("--last-name")
    p_account.add_argument("--birth-date", help="JJ/MM/AAAA")
    p_account.add_argument("--kind", choices=["assistant", "mam", "ram", "parent"], default="assistant")
    p_account.add_argument("--temporary-password", action="store_true", help="afficher un mot de passe provisoire (courrier)")

    p_import = commands.add_parser("import-assistants", help="importer le fichier mensuel des assistants (CSV)")
    p_import.add_argument("tenant")
    p_import.add_argument("file", help="fichier CSV (UTF-8 ou Windows-1252)")
    p_import.add_argument("--dry-run", action="store_true", help="simuler : afficher le rapport sans rien modifier")

    p_reminders = commands.add_parser(
        "availability-reminders", help="envoyer les rappels de mise à jour des disponibilités (une fois par jour, cron)"
    )
    p_reminders.add_argument("tenant", nargs="?", help="slug du tenant (par défaut : tous)")

    p_alerts = commands.add_parser(
        "alerts-send", help="envoyer les alertes des recherches enregistrées par les familles (cron, toutes les heures)"
    )
    p_alerts.add_argument("tenant", nargs="?", help="slug du tenant (par défaut : tous)")

    p_habilitations = commands.add_parser(
        "habilitations-expire", help="faire expirer les demandes d'habilitation sans suite (une fois par jour, cron)"
    )
    p_habilitations.add_argument("tenant", nargs="?", help="slug du tenant (par défaut : tous)")

    p_registrations = commands.add_parser(
        "registrations-expire", help="supprimer les comptes familles créés en ligne et jamais confirmés (une fois par jour, cron)"
    )
    p_registrations.add_argument("tenant", nargs="?", help="slug du tenant (par défaut : tous)")

    p_geocode = commands.add_parser(
        "geocode", help="géolocaliser les fiches dont l'adresse est nouvelle ou a changé (cron, ou après un import)"
    )
    p_geocode.add_argument("tenant", nargs="?", help="slug du tenant (par défaut : tous)")
    p_geocode.add_argument("--limit", type=int, default=None, help="au plus N fiches par tenant")
    p_directory = commands.add_parser(
        "directory-rebuild", help="reconstruire la table de recherche des parents (une fois par nuit, cron)"
    )
    p_directory.add_argument("tenant", nargs="?", help="slug du tenant (par défaut : tous)")

    p_admin = commands.add_parser("create-admin", help="créer un accès à la console (envoie un lien par courriel)")
    p_admin.add_argument("tenant", help="slug du tenant (ignoré avec --super)")
    p_admin.add_argument("email")
    p_admin.add_argument("--super", action="store_true", help="super-admin de la plateforme")
    p_admin.add_argument("--role", choices=["admin", "read_only"], default="admin")

    args = parser.parse_args(argv)
    try:
        settings = Settings()
        if args.command == "check-config":
            return check_config(args.directory or settings.tenant_configs, settings.base_domain)
        if args.command == "db":
            from assmat.core.db import migrate

            if args.db_command == "upgrade":
                migrate.upgrade(settings.database_url)
            elif args.db_command == "downgrade":
                migrate.downgrade(settings.database_url, args.revision)
            else:
                migrate.revision(settings.database_url, args.message)
            return 0
        if args.command == "serve":
            return serve(settings, args.host, args.port)
        if args.command == "demo":
            return demo(settings, args.port)
        if args.command == "create-account":
            return create_account(settings, args)
        if args.command == "import-assistants":
            return import_assistants(settings, args)
        if args.command == "create-admin":
            return create_admin(settings, args)
        if args.command == "availability-reminders":
            return availability_reminders(settings, args)
        if args.command == "alerts-send":
            return alerts_send(settings, args)
        if args.command == "habilitations-expire":
            return habilitations_expire(settings, args)
        if args.command == "registrations-expire":
            return registrations_expire(settings, args)
        if args.command == "geocode":
            return geocode(settings, args)
        if args.command == "directory-rebuild":
            return directory_rebuild(settings, args)
        if args.command == "mail-worker":
            return mail_worker(settings)
        if args.command == "purge":
            return purge(settings)
    except InvalidConfiguration as exc:
        return _fail("\n".join(f"ERREUR {e}" for e in exc.errors) + "\nConfiguration invalide : démarrage refusé.")
    except ConfigurationError as exc:
        return _fail(f"ERREUR {exc}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
