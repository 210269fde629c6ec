# shellcheck shell=bash
# Functions that start the host daemons, each only when not already answering.
# Sourced by up.sh after lib.sh. Daemons are started with `setsid -f` so they
# outlive the script and the shell session that ran it.

start_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  log "starting dockerd"
  setsid -f dockerd >"$LOG_DIR/dockerd.log" 2>&1 </dev/null
  touch "$STATE_DIR/started-dockerd"   # down.sh stops only what up.sh started
  wait_for 60 docker info || { tail_of "$LOG_DIR/dockerd.log"; die "dockerd did not answer within 60 s"; }
}

start_registry() {
  curl -fsS --max-time 2 "http://$REGISTRY/v2/" >/dev/null 2>&1 && return 0
  log "starting the registry on $REGISTRY"
  mkdir -p "$DATA_DIR/registry"
  cat >"$STATE_DIR/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DATA_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
YML
  # sh records its own pid, then becomes the registry: down.sh stops it by that id.
  setsid -f sh -c 'echo $$ >"$1"; exec docker-registry serve "$2"' registry \
    "$STATE_DIR/registry.pid" "$STATE_DIR/registry.yml" >"$LOG_DIR/registry.log" 2>&1 </dev/null
  wait_for 20 curl -fsS --max-time 2 "http://$REGISTRY/v2/" \
    || { tail_of "$LOG_DIR/registry.log"; die "the registry did not answer on $REGISTRY within 20 s"; }
}

# Debian's cluster 15/main on 127.0.0.1:5432, with role eqmd and database eqmd_c.
start_hostpg() {
  local psql=(runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1)
  pg_lsclusters -h | grep -q '^15 main ' || pg_createcluster 15 main >/dev/null \
    || die "could not create the host PostgreSQL cluster 15/main"
  pg_lsclusters -h | grep -q '^15 main 5432 ' || die "host PostgreSQL cluster 15/main is not on port 5432"
  if ! pg_lsclusters -h | grep -q '^15 main 5432 online'; then
    log "starting host PostgreSQL 15/main"
    # Output to a file: nothing the daemon inherits may hold a caller's pipe open.
    pg_ctlcluster 15 main start </dev/null >"$LOG_DIR/hostpg.log" 2>&1 \
      || { tail_of "$LOG_DIR/hostpg.log"; die "could not start host PostgreSQL (see /var/log/postgresql/)"; }
    touch "$STATE_DIR/started-hostpg"
  fi
  # Idempotent: a login that works means role, password and database are right.
  PGPASSWORD=$HOSTPG_PASSWORD psql -X -q -h 127.0.0.1 -U "$HOSTPG_ROLE" -d "$HOSTPG_DB" -c 'select 1' \
    >/dev/null 2>&1 && return 0
  log "creating host PostgreSQL role $HOSTPG_ROLE and database $HOSTPG_DB"
  (cd / && "${psql[@]}" -c "DO \$\$BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$HOSTPG_ROLE') THEN CREATE ROLE $HOSTPG_ROLE LOGIN; END IF;
    END\$\$; ALTER ROLE $HOSTPG_ROLE LOGIN CREATEDB PASSWORD '$HOSTPG_PASSWORD';" \
    && { "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$HOSTPG_DB'" | grep -q 1 \
         || runuser -u postgres -- createdb -O "$HOSTPG_ROLE" "$HOSTPG_DB"; }) \
    || die "could not create role/database in the host PostgreSQL cluster"
}
