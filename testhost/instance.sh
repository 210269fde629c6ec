# shellcheck shell=bash
# Functions to create, wipe, start and seed one instance (a|b|c). Sourced by
# up.sh and reset-instance.sh after lib.sh.

instance_url() { echo "http://127.0.0.1:$(instance_port "$1")"; }
instance_healthy() { [ "$(curl -fsS --max-time 2 "$(instance_url "$1")/health/" 2>/dev/null)" = ok ]; }

# Remove every container, volume and network of the compose project by label, so it
# works whatever state the instance dir is in (compose file missing, .env broken).
instance_purge() {
  local project filter ids
  project=eqmd-$1 filter="label=com.docker.compose.project=eqmd-$1"
  ids=$(docker ps -aq --filter "$filter")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  ids=$(docker volume ls -q --filter "$filter")
  [ -z "$ids" ] || docker volume rm $ids >/dev/null
  ids=$(docker network ls -q --filter "$filter")
  [ -z "$ids" ] || docker network rm $ids >/dev/null
  # Image tags a backup of this project may have left (images themselves stay).
  ids=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -e ":backup-$project-" -e "^eqmd-rollback/$project:" || true)
  [ -z "$ids" ] || docker rmi $ids >/dev/null
}

# Recreate the instance dir from testhost/instances/NAME. Group docker + setgid +
# default ACL: deploy and deployv1 can both write there, files they create stay
# group-writable whatever their umask.
instance_write() {
  local dir mnt
  dir=$(instance_dir "$1")
  # Tests mount small tmpfs disks (disk-full cases) inside; rm cannot cross them.
  for mnt in $(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r || true); do umount -l "$mnt"; done
  rm -rf "$dir"
  install -d -m 2775 -g docker "$INSTANCES_ROOT" "$dir"
  sed "s|@HOSTPG_URL@|$HOSTPG_URL|" "$TESTHOST_DIR/instances/$1/env.template" >"$dir/.env"
  if [ "$1" = d ]; then
    # The zero-downtime example runs as it is shipped: what users copy is what the tests drive.
    cp "$TESTHOST_DIR/../examples/zero-downtime/docker-compose.yml" "$dir/docker-compose.yml"
    cp -r "$TESTHOST_DIR/../examples/zero-downtime/haproxy" "$dir/haproxy"
    chmod -R a+rX "$dir/haproxy"
  else
    cp "$TESTHOST_DIR/instances/$1/docker-compose.yml" "$dir/docker-compose.yml"
  fi
  chgrp docker "$dir/.env" "$dir/docker-compose.yml"
  chmod 664 "$dir/.env" "$dir/docker-compose.yml"
  setfacl -m g:docker:rwX -d -m g:docker:rwX "$dir"
}

# compose up -d, wait for /health/ (deadline), seed when the database is empty.
instance_start() {
  local name=$1 count cid
  compose "$name" up -d >"$LOG_DIR/compose-$name.log" 2>&1 \
    || { tail_of "$LOG_DIR/compose-$name.log"; die "could not start instance $name (docker-compose up -d)"; }
  if ! wait_for 90 instance_healthy "$name"; then
    compose "$name" logs --tail 40 >"$LOG_DIR/compose-$name.log" 2>&1 || true
    tail_of "$LOG_DIR/compose-$name.log" 40
    die "instance $name did not become healthy at $(instance_url "$name")/health/ within 90 s"
  fi
  count=$(curl -fsS "$(instance_url "$name")/records/count/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
  if [ "$count" = 0 ]; then
    cid=$(compose "$name" ps -q eqmd 2>>"$LOG_DIR/compose-$name.log")
    docker exec "$cid" python3 manage.py seed --count 50 >/dev/null \
      || die "could not seed instance $name"
  fi
}

# Instance c's database lives in the host cluster: drop and recreate it empty.
hostpg_recreate_db() {
  (cd / && runuser -u postgres -- dropdb --if-exists --force "$HOSTPG_DB" \
    && runuser -u postgres -- createdb -O "$HOSTPG_ROLE" "$HOSTPG_DB") \
    || die "could not recreate database $HOSTPG_DB in the host PostgreSQL cluster"
}
