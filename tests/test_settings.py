"""Settings from the environment; the secret key rules."""

import pytest

from assmat.core.settings import ConfigurationError, Settings


def test_environment_prefix_is_assmat(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSMAT_BASE_DOMAIN", "Assmat.Example.ORG")
    monkeypatch.setenv("ASSMAT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ASSMAT_MAIL_BACKEND", "file")
    settings = Settings()
    assert settings.base_domain == "assmat.example.org"
    assert settings.database_url == f"sqlite:///{tmp_path / 'assmat.db'}"
    assert settings.mail_backend == "file"


def test_production_without_secret_key_stops_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.delenv("ASSMAT_SECRET_KEY", raising=False)
    settings = Settings(env="production", var_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="ASSMAT_SECRET_KEY is required when ASSMAT_ENV=production"):
        settings.effective_secret_key
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_key_once_and_keeps_it(tmp_path):
    first = Settings(var_dir=tmp_path).effective_secret_key
    second = Settings(var_dir=tmp_path).effective_secret_key
    assert first == second and len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_an_explicit_key_wins(tmp_path):
    assert Settings(var_dir=tmp_path, secret_key="k" * 40, env="production").effective_secret_key == "k" * 40


def test_serve_starts_one_process_per_usable_core_on_postgresql_and_one_on_sqlite(monkeypatch, tmp_path):
    monkeypatch.delenv("ASSMAT_WORKERS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    postgres = "postgresql+psycopg://assmat@db/assmat"
    assert Settings(var_dir=tmp_path, database_url=postgres).serve_workers == 3
    assert Settings(var_dir=tmp_path).serve_workers == 1  # the SQLite file under var/
    assert Settings(var_dir=tmp_path, database_url=postgres, workers=1).serve_workers == 1
    monkeypatch.setenv("ASSMAT_WORKERS", "5")
    assert Settings(var_dir=tmp_path).serve_workers == 5
