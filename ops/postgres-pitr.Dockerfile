# PostgreSQL with Barman's cloud commands: WAL archiving to S3 and base backups
# (ops/pg_pitr.py, ops/RETENTION.md "Scale-out (PostgreSQL)"). postgres:15 is Debian 12.
FROM postgres:15
RUN apt-get update && apt-get install -y --no-install-recommends barman-cli-cloud \
    && rm -rf /var/lib/apt/lists/*
