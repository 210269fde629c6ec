#!/usr/bin/env bash
# faults.sh [--short] — the fault-injection suite against the test host, then its report.
# Full: every row of RELIABILITY.md's fault table, then kill-at-random for each seed in FAULTS_SEEDS
# (the replayed seeds, each of which once found a bug, then a fresh one), FAULTS_RANDOM_ITERATIONS
# iterations each (default 50: 250 in all, about 45 minutes).
# --short (npm test, CI): the same rows only (CI's time budget: four replayed kill-at-random iterations cost
# 96 s in CI, and the rows inject every interruption on purpose); FAULTS_SEEDS adds a replay.
set -uo pipefail
cd "$(dirname "$0")/.."
testhost/up.sh || exit 1
REPLAYED_SEEDS="480052 671655 191092 4242"
if [ "${1:-}" = --short ]; then
  seeds=${FAULTS_SEEDS:-}
  export FAULTS_RANDOM_ITERATIONS=${FAULTS_RANDOM_ITERATIONS:-4} FAULTS_RANDOM_MINUTES=${FAULTS_RANDOM_MINUTES:-4}
  [ -n "$seeds" ] || export FAULTS_SHORT=1
else
  seeds=${FAULTS_SEEDS:-"$REPLAYED_SEEDS $(( $(date +%s) % 1000000 ))"}
  export FAULTS_RANDOM_ITERATIONS=${FAULTS_RANDOM_ITERATIONS:-50} FAULTS_RANDOM_MINUTES=${FAULTS_RANDOM_MINUTES:-20}
fi
rm -rf .faults
rows=()
for f in __tests__/faults/*.test.ts; do [ "$f" = __tests__/faults/random-kills.test.ts ] || rows+=("$f"); done
node --import tsx --test --test-concurrency=1 "${rows[@]}"
tests=$?
for seed in $seeds; do
  FAULTS_SEED=$seed node --import tsx --test --test-concurrency=1 __tests__/faults/random-kills.test.ts || tests=1
done
node --import tsx scripts/faults-report.ts
report=$?
exit $((tests || report))
