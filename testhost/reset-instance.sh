#!/usr/bin/env bash
# reset-instance.sh a|b|c — put one instance back to pristine, whatever its state:
# containers, volumes (so b's database), backup image tags and the instance dir go;
# c's host database is recreated; then up, healthy and seeded with 50 records.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$TESTHOST_DIR/instance.sh"

[ $# -eq 1 ] && instance_port "$1" >/dev/null || die "usage: reset-instance.sh a|b|c"
mkdir -p "$LOG_DIR"
docker info >/dev/null 2>&1 || die "docker engine not answering: run testhost/up.sh first"
instance_purge "$1"
[ "$1" != c ] || hostpg_recreate_db
instance_write "$1"
instance_start "$1"
log "instance $1 reset"
