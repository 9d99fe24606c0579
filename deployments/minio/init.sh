#!/bin/sh
# One-shot setup run by the minio-init service: creates the archive bucket
# and a MinIO user for the archiver that may only read and write objects in
# it. Safe to run again: every step keeps what already exists.
set -eu

bucket=hikarchive
policy=hikarchive-archiver

: "${MINIO_ROOT_USER:?set it in minio.env}"
: "${MINIO_ROOT_PASSWORD:?set it in minio.env}"
: "${HIKARCHIVE_S3_ACCESS_KEY:?set it in hikarchive.env}"
: "${HIKARCHIVE_S3_SECRET_KEY:?set it in hikarchive.env}"

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"

mc mb --ignore-existing "local/$bucket"

# "policy create" replaces a policy of the same name, and "user add" resets
# the secret of an existing user, so both follow edits to the inputs.
mc admin policy create local "$policy" /init/archiver-policy.json
mc admin user add local "$HIKARCHIVE_S3_ACCESS_KEY" "$HIKARCHIVE_S3_SECRET_KEY"

# Older mc releases reject attaching a policy that is already attached.
# NOTE: the mc image pinned in docker-compose.yml is newer than the release
# that made a repeated attach succeed, but this rerun was not tried here.
mc admin policy attach local "$policy" --user "$HIKARCHIVE_S3_ACCESS_KEY"

echo "bucket $bucket and user $HIKARCHIVE_S3_ACCESS_KEY are ready"
