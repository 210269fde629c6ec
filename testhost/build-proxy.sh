#!/usr/bin/env bash
# Builds eqmd-test/haproxy:2.6 from Debian's haproxy package and the two libraries the base image
# lacks (skipped when unchanged). The .debs come from the mirror apt already uses, through apt
# itself, and are cached under /var/cache.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$TESTHOST_DIR/build-base.sh"
PACKAGES=(haproxy liblua5.3-0 libopentracing-c-wrapper0 libopentracing1)
debs="$CACHE_DIR/haproxy-debs"
if ! ls "$debs"/haproxy_*.deb >/dev/null 2>&1; then
  log "downloading ${PACKAGES[*]}"
  mkdir -p "$debs.tmp"
  (cd "$debs.tmp" && { apt-get download -qq "${PACKAGES[@]}" || { apt-get update -qq && apt-get download -qq "${PACKAGES[@]}"; }; }) \
    >"$LOG_DIR/build-proxy.log" 2>&1 || { tail_of "$LOG_DIR/build-proxy.log"; die "could not download ${PACKAGES[*]}"; }
  rm -rf "$debs" && mv "$debs.tmp" "$debs"
fi

src="$TESTHOST_DIR/images/haproxy"
hash=$({ cat "$src/Dockerfile"; ls "$debs"; docker image inspect -f '{{.Id}}' "$BASE_IMAGE"; } | sha256sum | cut -c1-16)
have=$(docker image inspect -f '{{index .Config.Labels "eqmd.testhost.hash"}}' "$PROXY_IMAGE" 2>/dev/null || true)
[ "$have" != "$hash" ] || exit 0

log "building $PROXY_IMAGE"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$src/Dockerfile" "$ctx/" && cp -r "$debs" "$ctx/debs"
docker build -q --label "eqmd.testhost.hash=$hash" -t "$PROXY_IMAGE" "$ctx" >"$LOG_DIR/build-proxy.log" 2>&1 \
  || { tail_of "$LOG_DIR/build-proxy.log"; die "could not build image $PROXY_IMAGE"; }
