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

# The compose v2 CLI-plugin shim, for user deploy only. The docker CLI calls a
# plugin as `PLUGIN docker-cli-plugin-metadata` to list it, then as
# `PLUGIN compose ARGS...` to run it: drop the plugin name and hand over to v1.
plugin_dir=~deploy/.docker/cli-plugins
shim="$plugin_dir/docker-compose"
shim_text='#!/bin/sh
# Test-host shim: `docker compose` -> Debian docker-compose v1 (no v2 in bookworm).
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo "{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"eqmd testhost\",\"Version\":\"v2.0.0-shim\",\"ShortDescription\":\"Docker Compose (shim to docker-compose v1)\"}"
  exit 0
fi
shift
exec docker-compose "$@"'
if [ "$(cat "$shim" 2>/dev/null)" != "$shim_text" ]; then
  install -d -o deploy -g deploy "$(dirname "$plugin_dir")" "$plugin_dir"
  printf '%s\n' "$shim_text" >"$shim"
  chown deploy:deploy "$shim" && chmod 755 "$shim"
fi
