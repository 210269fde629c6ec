#!/usr/bin/env bash
# Builds eqmd-test/base:bookworm, the root of every test image (no registry can be
# pulled from here). The debootstrap tarball is cached under /var/cache so only the
# first run on a machine pays the ~1 min; the docker image is skipped when present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# python3-gunicorn serves the app; postgresql gives the DB image and pg_dump/psql.
INCLUDE=python3-django,python3-psycopg2,python3-gunicorn,sqlite3,postgresql
RECIPE=2   # bump when the rootfs steps below change, to invalidate the cached tarball
key=$(echo "$INCLUDE $RECIPE" | sha256sum | cut -c1-12)
tarball="$CACHE_DIR/base-bookworm-$key.tar"

if docker image inspect "$BASE_IMAGE" -f '{{index .Config.Labels "eqmd.testhost.key"}}' 2>/dev/null | grep -qx "$key"; then
  exit 0
fi

if [ ! -s "$tarball" ]; then
  mirror=$(apt_mirror)
  log "debootstrap bookworm (first run on this machine, about a minute)"
  mkdir -p "$CACHE_DIR"
  root=$(mktemp -d "$CACHE_DIR/root.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  start=$SECONDS
  debootstrap --variant=minbase --include="$INCLUDE" bookworm "$root" "$mirror" \
    >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || { tail_of "$CACHE_DIR/debootstrap.log"; die "could not build the base rootfs (debootstrap failed)"; }
  # Dead weight in every image: package cache, docs, and the cluster the postgresql
  # package creates at install (the DB image initialises its own data dir).
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/lib/postgresql/15 "$root"/etc/postgresql/15
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  log "debootstrap done in $((SECONDS - start)) s"
fi

log "importing $BASE_IMAGE"
docker import -c "LABEL eqmd.testhost.key=$key" \
  -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' "$tarball" "$BASE_IMAGE" >/dev/null \
  || die "could not import $BASE_IMAGE from $tarball"
