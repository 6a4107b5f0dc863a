"""The `assmat` command as operators use it."""

import shutil
import subprocess
import sys

from tests.conftest import REPO, TENANT_CONFIGS
from tests.support.tenants import write_tenant


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "assmat", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=120
    )


def test_check_config_accepts_the_seed_tenants_and_prints_their_advisories():
    result = run("check-config", str(TENANT_CONFIGS))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "5 tenant(s) valide(s)" in out
    gers = [line for line in out.splitlines() if line.startswith("AVIS gers.yaml")]
    assert any("mots de passe provisoires partent en clair" in line for line in gers)
    assert any("reveal_unknown_account" in line for line in gers)
    assert any("reveal_locked_state" in line for line in gers)
    assert any("blocage permanent après 3 échecs" in line for line in gers)


def test_check_config_refuses_bad_files_with_one_line_per_error(tmp_path):
    write_tenant(tmp_path, "typo", {"login.identifer": "email"})
    write_tenant(tmp_path, "colour", {"branding.primary_color": "#zzzzzz"})
    write_tenant(tmp_path, "negative", {"lockout.max_failures": -3})
    write_tenant(tmp_path, "dup1", {"hosts": ["assmat.example.org"]})
    write_tenant(tmp_path, "dup2", {"hosts": ["assmat.example.org"]})
    result = run("check-config", str(tmp_path))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERREUR")]
    assert errors == [
        "ERREUR colour.yaml: branding.primary_color: couleur attendue au format #rrggbb",
        "ERREUR negative.yaml: lockout.max_failures: doit être supérieur ou égal à 1",
        "ERREUR typo.yaml: login.identifer: clé inconnue",
        "ERREUR dup2.yaml: hosts: « assmat.example.org » est déjà déclaré par dup1.yaml",
    ]


def test_a_safe_tenant_has_no_advisory(tmp_path):
    write_tenant(tmp_path, "sur", {"password_policy.min_length": 12, "password_policy.min_lowercase": 1,
                                   "password_policy.min_uppercase": 1, "password_policy.min_digits": 1})
    result = run("check-config", str(tmp_path))
    assert result.returncode == 0 and "AVIS" not in result.stdout


def test_serve_refuses_to_start_on_an_invalid_configuration(tmp_path):
    configs = tmp_path / "configs"
    shutil.copytree(TENANT_CONFIGS, configs)
    write_tenant(configs, "landes", {"lockout.duration": "bientôt"})
    import os

    env = {**os.environ, "ASSMAT_TENANT_CONFIGS": str(configs), "ASSMAT_VAR_DIR": str(tmp_path / "var")}
    result = run("serve", "--port", "0", env=env)
    assert result.returncode == 1
    assert "ERREUR landes.yaml: lockout.duration" in result.stderr
    assert "démarrage refusé" in result.stderr


def test_serve_refuses_to_start_in_production_without_secret_key(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "ASSMAT_SECRET_KEY"}
    env.update({"ASSMAT_ENV": "production", "ASSMAT_VAR_DIR": str(tmp_path)})
    result = run("serve", "--port", "0", env=env)
    assert result.returncode == 1
    assert "ASSMAT_SECRET_KEY is required" in result.stderr


def test_serve_runs_several_worker_processes_when_asked(tmp_path):
    import os
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ASSMAT_WORKERS": "2", "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_IN_PROCESS": "false"}
    run("db", "upgrade", env=env)
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([sys.executable, "-m", "assmat", "serve", "--port", str(port)], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
        # Both workers come up (each logs its own start), under one parent.
        while (tmp_path / "serve.log").read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.3)
        assert "Started parent process" in (tmp_path / "serve.log").read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_demo_refuses_a_production_environment_and_writes_nothing(tmp_path):
    import os
    import sqlite3

    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_BACKEND": "file"}
    assert run("db", "upgrade", env=env).returncode == 0
    production = {**env, "ASSMAT_ENV": "production", "ASSMAT_SECRET_KEY": "x" * 48}
    result = run("demo", env=production)
    assert result.returncode != 0
    assert "ERREUR assmat demo refusé : ASSMAT_ENV=production" in result.stderr
    assert "mot de passe" not in result.stdout
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        for table in ("tenants", "accounts", "admins", "outbox"):
            assert db.execute(f"select count(*) from {table}").fetchone() == (0,), table
    assert not (tmp_path / "mail").exists()


def test_serve_keeps_tokens_out_of_the_access_log(tmp_path):
    """The real server's log: the request lines are there, the tokens of the links are not."""
    import os
    import signal
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_IN_PROCESS": "false"}
    assert run("db", "upgrade", env=env).returncode == 0
    log_path = tmp_path / "serve.log"
    log = log_path.open("w+")
    server = subprocess.Popen([sys.executable, "-m", "assmat", "serve", "--port", str(port)], cwd=REPO, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    secrets = {
        "/reinitialisation/": "Rst0kenAbcdefGhijkLmnop_qrstuVwxyz-1234567",
        "/activation/": "Act1vationTokenAbcdefGhijkLmnop_qrstuVwxy",
        "/confirmation-email/": "short-but-secret",
        "/admin/mot-de-passe/": "Adm1nTokenAbcdefGhijkLmnop_qrstuVwxyz0123",
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)
        for prefix, token in secrets.items():
            # A generated token also in a query value (the short one is only safe in a token route).
            query = f"?next={token}" if len(token) >= 20 else ""
            request = urllib.request.Request(f"http://127.0.0.1:{port}{prefix}{token}{query}",
                                             headers={"Host": f"cestas.localhost:{port}"})
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except urllib.error.HTTPError:
                pass  # an unknown token: the answer does not matter here, the log line does
        while sum(f'"GET {prefix}' in log_path.read_text() for prefix in secrets) < len(secrets):
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    text = log_path.read_text()
    for prefix, token in secrets.items():
        assert token not in text
        assert f'"GET {prefix}[redacted]' in text
    assert '"GET /reinitialisation/[redacted]?next=[redacted] HTTP/1.1" 400' in text
    assert '"GET /healthz HTTP/1.1" 200' in text


def test_directory_rebuild_fills_the_search_with_the_demos_published_fiches(tmp_path):
    import os
    import sqlite3

    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_BACKEND": "file"}
    assert run("db", "upgrade", env=env).returncode == 0
    unknown = run("directory-rebuild", "nulle-part", env=env)
    assert unknown.returncode == 1 and "ERREUR tenant inconnu : nulle-part" in unknown.stderr
    empty = run("directory-rebuild", "gers", env=env)
    assert empty.returncode == 0 and "gers : 0 fiche(s) dans la recherche" in empty.stdout
    assert run("demo", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        by_tenant = dict(db.execute("select tenant_id, count(*) from directory_entries group by tenant_id"))
        db.execute("delete from directory_entries where tenant_id = 'gers'")
    assert by_tenant.get("gers", 0) > 0  # the demo rebuilt it
    again = run("directory-rebuild", "gers", env=env)
    assert again.returncode == 0 and f"gers : {by_tenant['gers']} fiche(s) dans la recherche" in again.stdout


def test_check_config_reports_a_franceconnect_secret_variable_that_is_not_set(tmp_path):
    import os

    write_tenant(tmp_path, "fc", {"franceconnect": {"enabled": True, "environment": "integration", "client_id": "abc",
                                                    "client_secret_env": "ASSMAT_TEST_FC_SECRET_ABSENT"}})
    write_tenant(tmp_path, "fcbad", {"franceconnect": {"enabled": True, "environment": "ftp://x", "client_id": ""}})
    env = {key: value for key, value in os.environ.items() if key != "ASSMAT_TEST_FC_SECRET_ABSENT"}
    result = run("check-config", str(tmp_path), env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERREUR")]
    assert any(line.startswith("ERREUR fcbad.yaml: franceconnect.environment: « integration », « production » ou l'adresse")
               for line in errors), errors
    assert ("ERREUR fc.yaml: franceconnect.client_secret_env : la variable d'environnement ASSMAT_TEST_FC_SECRET_ABSENT "
            "(le secret FranceConnect) n'est pas définie") in errors
    write_tenant(tmp_path, "fcbad", {})
    result = run("check-config", str(tmp_path), env={**env, "ASSMAT_TEST_FC_SECRET_ABSENT": "s3cret"})
    assert result.returncode == 0, result.stderr


def test_registrations_expire_deletes_the_family_accounts_never_confirmed(tmp_path):
    import os
    import sqlite3

    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_BACKEND": "file"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("registrations-expire", "mon-enfant", env=env).returncode == 0  # creates the tenant rows
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        for identifier, registered, confirmed in (("vieille@example.org", "2020-01-01 00:00:00", None),
                                                  ("confirmee@example.org", "2020-01-01 00:00:00", "2020-01-02 00:00:00"),
                                                  ("recente@example.org", "2999-01-01 00:00:00", None)):
            db.execute("insert into accounts (tenant_id, kind, identifier, email, email_key, registered_at, "
                       "email_confirmed_at, must_change_password, needs_security_update, failed_logins, created_at, "
                       "updated_at) values ('mon-enfant', 'parent', ?, ?, ?, ?, ?, 0, 0, 0, ?, ?)",
                       (identifier, identifier, identifier, registered, confirmed, registered, registered))
    unknown = run("registrations-expire", "nulle-part", env=env)
    assert unknown.returncode == 1 and "ERREUR tenant inconnu : nulle-part" in unknown.stderr
    done = run("registrations-expire", env=env)
    assert done.returncode == 0, done.stderr
    assert "mon-enfant : 1 compte(s) famille non confirmé(s) supprimé(s)" in done.stdout
    assert "cestas : 0" in done.stdout and "gers" not in done.stdout  # tenants with families only
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        left = sorted(row[0] for row in db.execute("select identifier from accounts where tenant_id = 'mon-enfant'"))
    assert left == ["confirmee@example.org", "recente@example.org"]
    assert "Comptes familles non confirmés supprimés : 0." in run("registrations-expire", env=env).stdout  # a rerun
