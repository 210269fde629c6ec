#!/usr/bin/env bash
# Writes .state/host.json, the contract the end-to-end tests read. Only replaced
# when its content changes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

fingerprint() { ssh-keygen -l -E sha256 -f "$1" | cut -d' ' -f2; }
host_pub=$(cut -d' ' -f1,2 "$STATE_DIR/ssh_host_ed25519_key.pub")

instance_json() { # NAME DATABASE VOLUMES EXTRA
  local port dir
  port=$(instance_port "$1") dir=$(instance_dir "$1")
  cat <<JSON
    "$1": {"projectDir": "$dir", "composeProject": "eqmd-$1", "appService": "eqmd",
          "healthUrl": "http://127.0.0.1:$port/health/", "baseUrl": "http://127.0.0.1:$port",
          "database": "$2", $4, "volumes": $3}
JSON
}

tmp=$(mktemp)
cat >"$tmp" <<JSON
{
  "ssh": {"host": "127.0.0.1", "port": $SSH_PORT, "users": {"v2": "deploy", "v1": "deployv1", "pty": "deploypty"},
          "privateKeyPath": "$STATE_DIR/id_ed25519", "passphraseKeyPath": "$STATE_DIR/id_ed25519_pass",
          "passphrase": "$(secret passphrase)", "rsaKeyPath": "$STATE_DIR/id_rsa",
          "cutManifestKeyPath": "$STATE_DIR/id_ed25519_cut",
          "password": "$(secret password)", "fingerprint": "$(fingerprint "$STATE_DIR/ssh_host_ed25519_key.pub")",
          "knownHostsLine": "[127.0.0.1]:$SSH_PORT $host_pub",
          "jump": {"host": "127.0.0.1", "port": $JUMP_PORT, "username": "jump",
                   "fingerprint": "$(fingerprint "$STATE_DIR/jump_host_ed25519_key.pub")"}},
  "registry": "$REGISTRY",
  "image": "$IMAGE_REPO",
  "postgresUrl": "$HOSTPG_URL",
  "instances": {
$(instance_json a sqlite '["database", "media_files", "static_files"]' '"sqlitePath": "/app/database/db.sqlite3"'),
$(instance_json b postgres '["postgres_data", "media_files", "static_files"]' '"postgresService": "postgres"'),
$(instance_json c postgres '["media_files", "static_files"]' "\"databaseUrl\": \"$HOSTPG_URL\""),
$(instance_json d sqlite '["database", "media_files", "static_files"]' '"sqlitePath": "/app/database/db.sqlite3", "haproxyService": "haproxy"')
  }
}
JSON
python3 -m json.tool "$tmp" >/dev/null || die "generated host.json is not valid JSON ($tmp)"
if cmp -s "$tmp" "$STATE_DIR/host.json"; then rm -f "$tmp"; else chmod 644 "$tmp" && mv "$tmp" "$STATE_DIR/host.json"; fi
