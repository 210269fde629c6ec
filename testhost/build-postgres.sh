#!/usr/bin/env bash
# Builds eqmd-test/postgres:15 from testhost/images/postgres (skipped when unchanged).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$TESTHOST_DIR/build-base.sh"
src="$TESTHOST_DIR/images/postgres"
hash=$({ tar -C "$src" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - .
  docker image inspect -f '{{.Id}}' "$BASE_IMAGE"; } | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "eqmd.testhost.hash"}}' "$PG_IMAGE" 2>/dev/null || true)
[ "$have" != "$hash" ] || exit 0

log "building $PG_IMAGE"
docker build -q --label "eqmd.testhost.hash=$hash" -t "$PG_IMAGE" "$src" >"$LOG_DIR/build-postgres.log" 2>&1 \
  || { tail_of "$LOG_DIR/build-postgres.log"; die "could not build image $PG_IMAGE"; }
