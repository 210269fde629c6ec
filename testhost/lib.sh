# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared settings and helpers for the test host scripts. Sourced, never run.
# Paths are absolute so the scripts work from any cwd (CI runs them from a fresh clone).
TESTHOST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="$TESTHOST_DIR/.state"
CACHE_DIR=/var/cache/eqmd-testhost       # debootstrap tarball: survives work-tree resets
DATA_DIR=/var/lib/eqmd-testhost          # registry storage
LOG_DIR="$STATE_DIR"              # daemon, build and compose logs
INSTANCES_ROOT=/srv/eqmd-test
REGISTRY=127.0.0.1:5000
IMAGE_REPO="$REGISTRY/eqmd"
BASE_IMAGE=eqmd-test/base:bookworm
PG_IMAGE=eqmd-test/postgres:15
PROXY_IMAGE=eqmd-test/haproxy:2.6
SSH_PORT=2222
JUMP_PORT=2223
# Host PostgreSQL role used by instance c. A fixed password is fine: the cluster
# listens on loopback only and the value is published in host.json anyway.
HOSTPG_ROLE=eqmd
HOSTPG_PASSWORD=eqmd-c-secret
HOSTPG_DB=eqmd_c
HOSTPG_URL="postgres://$HOSTPG_ROLE:$HOSTPG_PASSWORD@127.0.0.1:5432/$HOSTPG_DB"

# Docker Engine 20.10 in Debian has no BuildKit we can rely on; the 28.x CLI must
# be told to use the legacy builder.
export DOCKER_BUILDKIT=0

log() { echo "testhost: $*"; }
die() { echo "testhost: ERROR: $*" >&2; exit 1; }

# Lines of a log file, for error messages.
tail_of() { [ -f "$1" ] && tail -n "${2:-30}" "$1" | sed 's/^/    | /' >&2 || true; }

# Poll CMD until it succeeds or SECONDS pass (health is polled to a deadline).
wait_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

# Does a TCP port on 127.0.0.1 accept connections? (bash /dev/tcp: no extra tools)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A random secret created once and kept in .state, so re-runs reuse it.
secret() {
  local f="$STATE_DIR/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$STATE_DIR/secrets" && chmod 700 "$STATE_DIR/secrets"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$f"
  fi
  cat "$f"
}

# Instance letter -> directory, compose project, port.
instance_dir() { echo "$INSTANCES_ROOT/eqmd-$1"; }
instance_port() { case $1 in a) echo 8778 ;; b) echo 8788 ;; c) echo 8798 ;; d) echo 8808 ;; *) return 1 ;; esac; }

# Each instance is started by the compose its deploy user runs, as on a real host: b by Debian's v1
# (deployv1), the others by the real v2 plugin of user deploy. The two name containers differently and
# label them with different configuration hashes, which a deploy compares (see src/deploy/config-check.ts).
compose() {
  local name=$1 dir
  dir=$(instance_dir "$name")
  shift
  if [ "$name" = b ]; then
    (cd "$dir" && docker-compose "$@")
  else
    (cd "$dir" && DOCKER_CONFIG=$(getent passwd deploy | cut -d: -f6)/.docker docker compose "$@")
  fi
}

# The mirror this machine's apt already uses, read at run time: no registry host is written here.
apt_mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit } $1 == "deb" { print $3; exit }' \
    /etc/apt/sources.list 2>/dev/null)
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  echo "$uri"
}
