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
# Every instance starts on v1. A test that retagged it (a product bug) must fail here, at once and
# named, not as an instance that stays unhealthy for 90 s in every later test. up.sh rebuilds the tag.
v1=$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE_REPO:v1" 2>/dev/null \
  | sed -n 's/^APP_VERSION=//p')
[ "$v1" = v1 ] || die "tag $IMAGE_REPO:v1 names ${v1:-no image}${v1:+ (APP_VERSION)}, not v1: something retagged it (run testhost/up.sh to rebuild it)"
instance_purge "$1"
[ "$1" != c ] || hostpg_recreate_db
instance_write "$1"
instance_start "$1"
log "instance $1 reset"
