#!/usr/bin/env bash
# Brings the whole deployment test host up: packages, dockerd, registry, host
# PostgreSQL, the two sshd, images, instances a/b/c; writes .state/host.json.
# Everything is skipped when already in place, so a re-run takes seconds.
# Any failure exits non-zero saying what could not be built: tests never skip.
set -Eeuo pipefail  # -E: the ERR trap fires inside functions too
source "$(dirname "$0")/lib.sh"
source "$TESTHOST_DIR/services.sh"
source "$TESTHOST_DIR/ssh.sh"
source "$TESTHOST_DIR/instance.sh"

[ "$(id -u)" = 0 ] || die "up.sh must run as root (it installs packages and starts daemons)"
trap 'echo "testhost: ERROR: up.sh failed at line $LINENO (exit $?)" >&2' ERR
start=$SECONDS
mkdir -p "$STATE_DIR" && chmod 700 "$STATE_DIR"

"$TESTHOST_DIR/install.sh"
start_dockerd
start_registry
start_hostpg
setup_ssh

"$TESTHOST_DIR/build-postgres.sh"
"$TESTHOST_DIR/build-proxy.sh"
# Variants (variants/*/, table in README.md): v1 base, v2 adds a nullable column,
# v3 drops a column and fails /health/, v4 exits at start, v5 a second good v2,
# v6 a good release adding a table, v7 a non-atomic migration that adds a table then raises,
# v8 a NOT NULL column without a database default (v1 reads it, cannot insert), v9 a healthy
# release that drops v2's column, v10 one that renames it, v11 one that splits it into a table of its
# own with a data migration without reverse.
for v in v1 v2 v3 v4 v5 v6 v7 v8 v9 v10 v11; do "$TESTHOST_DIR/build-app.sh" "$v" "$v"; done

for name in a b c d; do
  instance_healthy "$name" && continue
  # Not answering: whatever a test (or a crash) left there has no value on a throwaway host, and
  # starting it as it is may never turn healthy. Back to pristine, as reset-instance.sh does.
  log "instance $name is not healthy: resetting it to pristine"
  instance_purge "$name"
  [ "$name" != c ] || hostpg_recreate_db
  instance_write "$name"
  instance_start "$name"
done

"$TESTHOST_DIR/write-host-json.sh"
log "up in $((SECONDS - start)) s; state in $STATE_DIR/host.json"
