#!/bin/sh
# One-shot job of the compose service temporal-schema (image temporalio/admin-tools, the server's version): creates
# the two PostgreSQL databases Temporal uses and brings their schemas to the version the server expects. Safe to
# run again: an existing database is kept, setup-schema skips a schema already past 0.0, and update-schema applies
# only the versions not yet applied (this is also how a server upgrade migrates: run it with the new admin-tools).
# Connection: SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (read by temporal-sql-tool itself).
set -eu
# database name:schema embedded in temporal-sql-tool (the default store and the visibility store)
for store in temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility; do
  db=${store%%:*}
  schema=${store#*:}
  temporal-sql-tool --db "$db" create-database
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema --schema-name "$schema"
  echo "database $db: schema $schema up to date"
done
