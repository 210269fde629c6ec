#!/usr/bin/env bash
# Installs what the test host needs from Debian packages. Idempotent: apt is only
# touched when a package is missing, so a re-run costs a few dpkg-query calls.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PACKAGES=(docker.io docker-compose docker-registry openssh-server postgresql postgresql-client
  debootstrap busybox-static sqlite3 unzip iproute2 procps curl acl)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  # Package scripts must not start services (sshd on :22, a dockerd, the registry
  # on :5000): up.sh starts its own, configured ones. policy-rc.d exit 101 = "deny".
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"/tmp/eqmd-testhost-apt.log" 2>&1 \
    || { tail_of /tmp/eqmd-testhost-apt.log; die "apt-get install failed: ${missing[*]}"; }
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# Users. deploy exercises `docker compose` (v2 path), deployv1 only has docker-compose v1,
# deploypty gets every command wrapped in a pty (as session-recording hosts do).
getent group docker >/dev/null || groupadd --system docker
for u in deploy deployv1 deploypty jump; do
  id "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
done
for u in deploy deployv1 deploypty; do
  id -nG "$u" | grep -qw docker || usermod -aG docker "$u"
done

# Real Compose v2 for user deploy only (deployv1 keeps Debian's docker-compose v1, the other path
# the action supports). Bookworm has no v2; trixie's docker-compose package holds the plugin, and its
# binary runs on bookworm. It is downloaded with a private apt state (trixie never enters the
# machine's sources) from the mirror apt already uses, and cached: later runs skip all of it.
compose_v2() {
  local deb plugin=$CACHE_DIR/docker-compose-v2 work
  if [ ! -x "$plugin" ]; then
    log "downloading Compose v2 (Debian trixie's docker-compose package)"
    work=$(mktemp -d)
    mkdir -p "$work/lists/partial" "$work/archives/partial" "$CACHE_DIR"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(apt_mirror) trixie main" >"$work/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives")
    apt-get "${opts[@]}" update -qq >"$work/apt.log" 2>&1 \
      || { tail_of "$work/apt.log"; die "apt-get update for trixie's docker-compose failed"; }
    (cd "$work" && apt-get "${opts[@]}" download docker-compose >>"$work/apt.log" 2>&1) \
      || { tail_of "$work/apt.log"; die "could not download trixie's docker-compose package"; }
    deb=$(ls "$work"/docker-compose_*.deb)
    dpkg -x "$deb" "$work/x"
    install -m 755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin.tmp"
    "$plugin.tmp" version >/dev/null || die "the Compose v2 plugin from $deb does not run here"
    mv "$plugin.tmp" "$plugin"
    rm -rf "$work"
  fi
  local dir=~deploy/.docker/cli-plugins
  if ! cmp -s "$plugin" "$dir/docker-compose"; then
    install -d -o deploy -g deploy "$(dirname "$dir")" "$dir"
    install -o deploy -g deploy -m 755 "$plugin" "$dir/docker-compose"
  fi
}
compose_v2
