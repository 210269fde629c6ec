#!/usr/bin/env bash
# faults.sh [--short] — the fault-injection suite against the test host, then its report.
# Full: every row of RELIABILITY.md's fault table and up to 200 kill-at-random iterations
# (10 minutes). --short (npm test, CI): the same rows, kill-at-random bounded to 2 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
testhost/up.sh || exit 1
if [ "${1:-}" = --short ]; then
  export FAULTS_RANDOM_ITERATIONS=${FAULTS_RANDOM_ITERATIONS:-10} FAULTS_RANDOM_MINUTES=${FAULTS_RANDOM_MINUTES:-2}
fi
rm -rf .faults
node --import tsx --test --test-concurrency=1 __tests__/faults/*.test.ts
tests=$?
node --import tsx scripts/faults-report.ts
report=$?
exit $((tests || report))
