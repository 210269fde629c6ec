/**
 * `npm run bench` part (issue 16): what users see during a deploy and a rollback, `strategy: recreate`
 * (instance a, the app's own port) side by side with `strategy: zero-downtime` (instance d, the same
 * app behind HAProxy as in examples/zero-downtime), in one run on the same host. 20 keep-alive clients
 * of GETs and POSTs (testhost/load.ts) run from before the action starts until it has ended and at
 * least 20,000 requests were sent. Not a test: it prints the figures for the README.
 *
 * Scenarios: (a) a good deploy (v1 → v2, a compatible migration), (b) a broken deploy rolled back
 * automatically (v2 → v3: a destructive migration, 500), then (a') a good destructive deploy (v2 → v9,
 * not compared) and (c) the emergency rollback of it, which restores the database and carries the
 * writes over. "Writes lost": writes the app acknowledged (201) that the live database does not have
 * at the end (under recreate they may be listed on the host, but users do not see them).
 */
import {
  connectionInputs,
  resetInstance,
  runAction,
  sh,
  testHost,
  type Instance,
} from '../__tests__/e2e/harness.js';
import { startLoad, type LoadReport } from '../testhost/load.js';

const h = testHost();
const MIN_REQUESTS = Number(process.env.BENCH_MIN_REQUESTS ?? 20_000);
const CLIENTS = 20;

function storedNames(i: Instance, tag: string): Set<string> {
  const id = sh(
    `docker ps -q --filter label=com.docker.compose.project=${i.composeProject} --filter label=com.docker.compose.service=eqmd --filter label=com.docker.compose.oneoff=False`,
  ).trim();
  const out = sh(
    `docker exec ${id} sqlite3 /app/database/db.sqlite3 "SELECT name FROM records_patient WHERE name LIKE '${tag}-%'"`,
  );
  return new Set(out.split('\n').filter(Boolean));
}

interface Row {
  scenario: string;
  strategy: string;
  exit: number;
  actionS: number;
  load: LoadReport;
  writesLost: number;
  writesRefusedButStored: number;
}

async function measure(
  scenario: string,
  i: Instance,
  strategy: string,
  inputs: Record<string, string>,
  tag: string,
): Promise<Row> {
  const load = startLoad(i.baseUrl, CLIENTS, tag);
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = performance.now();
  const run = await runAction({
    ...connectionInputs(h, 'v2'),
    'project-dir': i.projectDir,
    'health-url': i.healthUrl,
    'upload-artifact': 'false',
    strategy,
    ...inputs,
  });
  const actionS = (performance.now() - t0) / 1000;
  // Keep the load going until enough requests were sent (the switch is inside the window either way).
  const report = await waitForRequests(load);
  const stored = storedNames(i, tag);
  const writesLost = report.acked.filter((n) => !stored.has(n)).length;
  const writesRefusedButStored = report.refusedWrites.filter((n) => stored.has(n)).length;
  return { scenario, strategy, exit: run.code, actionS, load: report, writesLost, writesRefusedButStored };
}

/** Stops the load once it has sent MIN_REQUESTS (at most 90 s more). */
async function waitForRequests(load: ReturnType<typeof startLoad>): Promise<LoadReport> {
  const until = performance.now() + 90_000;
  while (load.sent() < MIN_REQUESTS && performance.now() < until)
    await new Promise((r) => setTimeout(r, 200));
  return load.stop();
}

const a = h.instances.a;
const d = h.instances.d;
resetInstance('a');
resetInstance('d');
const rows: Row[] = [];
for (const [i, strategy] of [
  [a, 'recreate'],
  [d, 'zero-downtime'],
] as const) {
  const k = strategy === 'recreate' ? 'r' : 'z';
  rows.push(
    await measure('(a) good deploy v1 → v2', i, strategy, { command: 'deploy', version: 'v2' }, `${k}a`),
  );
  rows.push(
    await measure(
      '(b) broken deploy v2 → v3, rolled back',
      i,
      strategy,
      { command: 'deploy', version: 'v3' },
      `${k}b`,
    ),
  );
  rows.push(
    await measure(
      "(a') good destructive deploy v2 → v9",
      i,
      strategy,
      { command: 'deploy', version: 'v9' },
      `${k}a2`,
    ),
  );
  rows.push(
    await measure(
      '(c) emergency rollback v9 → v2, database restored',
      i,
      strategy,
      { command: 'rollback' },
      `${k}c`,
    ),
  );
}

const ms = (x: number) => `${x} ms`;
console.log(
  `\n## Zero-downtime benchmark: ${CLIENTS} keep-alive clients (GET /version/, POST /records/), at least ${MIN_REQUESTS} requests per row\n`,
);
console.log(
  '| scenario | strategy | exit | action | requests | failed | refused (503 + Retry-After) | writes acknowledged | writes lost | p50 | p99 | longest |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows.sort(
  (x, y) => x.scenario.localeCompare(y.scenario) || x.strategy.localeCompare(y.strategy),
)) {
  console.log(
    `| ${r.scenario} | ${r.strategy} | ${r.exit} | ${r.actionS.toFixed(1)} s | ${r.load.sent} | **${r.load.failed}** | ${r.load.refused} | ${r.load.acked.length} | **${r.writesLost}** | ${ms(r.load.p50Ms)} | ${ms(r.load.p99Ms)} | ${ms(r.load.maxMs)} |`,
  );
}
const failures = rows.filter((r) => r.load.failures.length);
for (const r of failures)
  console.log(`\n${r.scenario}, ${r.strategy}: first failures: ${r.load.failures.slice(0, 5).join('; ')}`);
const bad = rows.filter((r) => r.writesRefusedButStored);
if (bad.length)
  console.log(`\nWRITES REFUSED BUT STORED: ${bad.map((r) => `${r.scenario} ${r.strategy}`).join(', ')}`);
