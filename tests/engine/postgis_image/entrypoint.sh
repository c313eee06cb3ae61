#!/bin/sh
set -eu
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "${POSTGRES_PASSWORD:?}" > /run/postgresql/pw
    chown postgres /run/postgresql/pw
    runuser -u postgres -- initdb -D "$PGDATA" --username="${POSTGRES_USER:-postgres}" \
        --pwfile=/run/postgresql/pw --auth=scram-sha-256 >/dev/null
    rm -f /run/postgresql/pw
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*'
