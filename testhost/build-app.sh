#!/usr/bin/env bash
# build-app.sh TAG VARIANT — builds the EquipeMed stand-in image for one variant.
#
# A variant is testhost/variants/VARIANT/: files copied over testhost/app/ (extra
# migrations, a changed model, a broken entrypoint...), plus an optional
# APP_VERSION file (default: the variant name). A BUILDS_ON file naming another
# variant lays that one (and what it builds on) first, so a release that follows
# v2 holds only its own changes, not copies of v2's files. TAG is a tag of 127.0.0.1:5000/eqmd
# (e.g. v3) or a full image reference. Images under the local registry are pushed.
# Rebuilds are skipped when the image's content-hash label matches the sources.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: build-app.sh TAG VARIANT"
tag=$1 variant=$2
case $tag in */* | *:*) ref=$tag ;; *) ref="$IMAGE_REPO:$tag" ;; esac
variant_dir="$TESTHOST_DIR/variants/$variant"
[ -d "$variant_dir" ] || die "no variant '$variant' (expected a folder $variant_dir)"

"$TESTHOST_DIR/build-base.sh"

ctx=$(mktemp -d /tmp/eqmd-app-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
# Layers, oldest first: app/, then the chain of BUILDS_ON, then the variant itself.
layers=("$variant_dir")
while [ -f "${layers[0]}/BUILDS_ON" ]; do
  below="$TESTHOST_DIR/variants/$(tr -d '[:space:]' <"${layers[0]}/BUILDS_ON")"
  [ -d "$below" ] || die "variant $(basename "${layers[0]}") builds on a missing variant: $below"
  [ ${#layers[@]} -lt 10 ] || die "BUILDS_ON chain of $variant is too long (a cycle?)"
  layers=("$below" "${layers[@]}")
done
# tar rather than cp: skip __pycache__ left by anyone running the app locally.
for src in "$TESTHOST_DIR/app" "${layers[@]}"; do
  tar -C "$src" --exclude=__pycache__ --exclude=BUILDS_ON -cf - . | tar -C "$ctx" -xf -
done
# A base variant's APP_VERSION must not stand in for the variant's own default name.
[ -f "$variant_dir/APP_VERSION" ] || rm -f "$ctx/APP_VERSION"
version=$variant
[ ! -f "$ctx/APP_VERSION" ] || version=$(tr -d '[:space:]' <"$ctx/APP_VERSION")

# The hash covers every byte of the context, the version and the base image it
# builds on, so a rebuilt base also rebuilds the apps.
base_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
hash=$({ tar -C "$ctx" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=a+rX -cf - .
  echo "$version $base_id"; } | sha256sum | cut -c1-16)

have=$(docker image inspect -f '{{index .Config.Labels "eqmd.testhost.hash"}}' "$ref" 2>/dev/null || true)
if [ "$have" != "$hash" ]; then
  log "building $ref (variant $variant, APP_VERSION=$version)"
  docker build -q --build-arg "APP_VERSION=$version" --label "eqmd.testhost.hash=$hash" -t "$ref" "$ctx" \
    >"$LOG_DIR/build-$variant.log" 2>&1 \
    || { tail_of "$LOG_DIR/build-$variant.log"; die "could not build image $ref (variant $variant)"; }
fi

# Push unless the registry already holds exactly this image (its config digest is
# the local image ID). The registry may have been wiped independently of images.
if [[ $ref == "$REGISTRY/"* ]]; then
  repo=${ref#"$REGISTRY/"} && repo=${repo%:*}
  remote=$(curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$repo/manifests/${ref##*:}" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true)
  if [ "$remote" != "$(docker image inspect -f '{{.Id}}' "$ref")" ]; then
    log "pushing $ref"
    docker push "$ref" >"$LOG_DIR/push-$variant.log" 2>&1 \
      || { tail_of "$LOG_DIR/push-$variant.log"; die "could not push $ref to the registry at $REGISTRY"; }
  fi
fi
