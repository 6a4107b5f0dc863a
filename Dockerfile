# syntax=docker/dockerfile:1
#
# assmat application image. One image for every process: the web app
# (`assmat serve`, the default command), the migrations (`assmat db upgrade`)
# and the outbox sender (`assmat mail-worker`). See compose.yaml and deploy/README.md.

# --- build: install the package and its dependencies into a virtualenv --------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, from pyproject.toml alone, so this layer is reused while
# only the code changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
# Then the package itself (setuptools backend). .dockerignore keeps .venv, var/,
# tests/ and .git out of the context.
COPY . .
RUN pip install .

# --- runtime -----------------------------------------------------------------
FROM python:3.11-slim

# ASSMAT_ENV=production fails closed: ASSMAT_SECRET_KEY is then required.
# ASSMAT_VAR_DIR: runtime files (the package default would lie inside site-packages).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    ASSMAT_ENV=production \
    ASSMAT_TENANT_CONFIGS=/app/tenant_configs \
    ASSMAT_VAR_DIR=/app/var

RUN groupadd --system --gid 10001 assmat \
 && useradd --system --uid 10001 --gid assmat --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin assmat

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# Tenant configurations baked in as a default; compose.yaml mounts ./tenant_configs
# over this directory (read-only) so a département's YAML stays a file on the host.
COPY tenant_configs ./tenant_configs
RUN mkdir -p /app/var && chown assmat:assmat /app/var

USER assmat:assmat
EXPOSE 8000
# No HEALTHCHECK here: the same image runs the mail worker, which serves no HTTP.
# compose.yaml checks /healthz on the app service.
CMD ["assmat", "serve", "--host", "0.0.0.0", "--port", "8000"]
