"""The `assmat` command: serve, check-config, db, demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from assmat.settings import ConfigurationError, Settings
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
    for error in errors:
        print(f"ERREUR {error}", file=sys.stderr)
    for slug, tenant in tenants.items():
        for note in advisories(tenant.config):
            print(f"AVIS {tenant.source.name}: {note}")
    if errors:
        print(f"{len(errors)} erreur(s) : configuration refusée.", file=sys.stderr)
        return 1
    print(f"{len(tenants)} tenant(s) valide(s) : {', '.join(tenants)}")
    return 0


def _registry(settings: Settings) -> TenantRegistry:
    return TenantRegistry(load_valid_tenants(settings.tenant_configs), settings.base_domain)


def serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from assmat.web.app import create_app

    app = create_app(settings, _registry(settings))
    # Forwarded headers are trusted from FORWARDED_ALLOW_IPS (uvicorn: 127.0.0.1 unless set), so the
    # client address seen behind the proxy is the real one.
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
    return 0


def demo(settings: Settings, port: int) -> int:
    from assmat.auth.passwords import Hasher
    from assmat.db.engine import make_engine, make_sessionmaker
    from assmat.demo import load_demo
    from assmat.web.app import sync_tenant_rows

    registry = _registry(settings)

    async def run():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, registry)
            return await load_demo(sessionmaker, registry.tenants, Hasher(settings))
        finally:
            await engine.dispose()

    accounts = asyncio.run(run())
    suffix = "" if port == 80 else f":{port}"
    print("\nPortails de démonstration :")
    print(f"  plateforme          http://{settings.base_domain}{suffix}/")
    for account in accounts:
        url = f"http://{account.tenant.slug}.{settings.base_domain}{suffix}/"
        state = "créé" if account.created else "déjà présent"
        print(f"  {account.tenant.slug:<20}{url:<42}identifiant {account.identifier}  mot de passe {account.password}  ({state})")
    print()
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

    args = parser.parse_args(argv)
    try:
        settings = Settings()
        if args.command == "check-config":
            return check_config(args.directory or settings.tenant_configs, settings.base_domain)
        if args.command == "db":
            from assmat.db import migrate

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
    except InvalidConfiguration as exc:
        return _fail("\n".join(f"ERREUR {e}" for e in exc.errors) + "\nConfiguration invalide : démarrage refusé.")
    except ConfigurationError as exc:
        return _fail(f"ERREUR {exc}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
