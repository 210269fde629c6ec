#!/usr/bin/env bash
# changelog-section.sh VERSION [FILE] — prints the body of the "## [VERSION]" section of the changelog
# (the release notes); fails when there is none, so a release is never cut without its notes.
set -euo pipefail
version=${1:?usage: changelog-section.sh VERSION [FILE]}
file=${2:-CHANGELOG.md}
awk -v v="$version" '
  index($0, "## [" v "]") == 1 { on = 1; found = 1; next }
  on && /^## \[/ { exit }
  on { print }
  END { if (!found) exit 3 }
' "$file" | sed -e '/./,$!d' || { echo "no section ## [$version] in $file" >&2; exit 3; }
