#!/usr/bin/env bash
# Builds dist/ with ncc. Native addons are removed afterwards: ssh2 and cpu-features load them in
# try/catch and fall back to pure JS, and a .node built here would not match the runner's Node ABI.
# The artifact client is a bundle of its own (dist/artifact/, loaded only by a run that uploads), with
# its own licenses.txt: ncc writes the licenses of the bundle it builds.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
ncc build src/index.ts -o dist --license licenses.txt --target es2022 --quiet
ncc build src/artifact-client.ts -o dist/artifact --license licenses.txt --target es2022 --quiet
find dist \( -name '*.node' -o -name '*.exe' \) -delete
find dist -type d -empty -delete
