FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg postgresql-client openssl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY backend backend
COPY sync sync
COPY media media
COPY coverage_core coverage_core
COPY mobile_contract mobile_contract
COPY ops ops
COPY provenance provenance
COPY manage.py ./
RUN pip install --no-cache-dir .
RUN useradd --system fieldvault && mkdir /staging && chown fieldvault /staging
USER fieldvault
