#!/usr/bin/env bash
# Stops the instances and the daemons up.sh started (best effort; for developers,
# CI never calls it). Data stays: volumes, registry, database, keys. up.sh resumes.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

stop_pid() { # NAME PIDFILE
  local pid
  pid=$(cat "$2" 2>/dev/null) || return 0
  if kill "$pid" 2>/dev/null; then
    # Wait, so an up.sh right after does not find a daemon that is about to exit.
    wait_for 20 bash -c "! kill -0 $pid" || log "warning: $1 (pid $pid) still running"
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$2"
}

if docker info >/dev/null 2>&1; then
  for name in a b c d; do
    [ -f "$(instance_dir "$name")/docker-compose.yml" ] || continue
    compose "$name" stop >/dev/null 2>&1 && log "stopped instance $name"
  done
fi
stop_pid sshd "$STATE_DIR/sshd.pid"
stop_pid jump "$STATE_DIR/jump.pid"
stop_pid registry "$STATE_DIR/registry.pid"
if [ -f "$STATE_DIR/started-hostpg" ]; then
  pg_ctlcluster 15 main stop && log "stopped host PostgreSQL"
  rm -f "$STATE_DIR/started-hostpg"
fi
if [ -f "$STATE_DIR/started-dockerd" ]; then
  stop_pid dockerd /var/run/docker.pid
  rm -f "$STATE_DIR/started-dockerd"
fi
exit 0
