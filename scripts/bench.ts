/**
 * `npm run bench`: deploy and recovery figures measured side by side on the local test host, in one run,
 * end to end as the user waits (process start to healthy). Not a test: it prints numbers and ratios
 * (and the targets from the issues) for the README. Compose is the real v2 plugin, by hand and through
 * the action (user deploy).
 *
 * - by hand, the same stories: a good deploy (what the backup set holds: the image under a tag, a
 *   consistent SQLite copy with the backup API, the volumes, the env and compose files; then the switch
 *   until 200) and a broken one (the same backup, switch to v3 until its first 500, stop, put the
 *   database back, switch back until 200): the floors;
 * - the action's good deploy, and its broken deploy (v3 drops a column, answers 500) with automatic
 *   rollback: total, switch → decision, recovery; SSH connections counted;
 * - the seed's upgrade-then-emergency-rollback flow on the same host (fixed `sleep 10` + 30 × 2 s health
 *   loop, then retag eqmd:latest + compose up) — and whether it ended healthy.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionInputs, resetInstance, runAction, sh, testHost } from '../__tests__/e2e/harness.js';

const h = testHost();
const a = h.instances.a;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const now = () => performance.now();
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * A fetch bounded by a timer that keeps the process alive: a connection to a port whose container is
 * still starting can hang with nothing else pending (undici's own timers do not hold the event loop), and
 * node then exits 13 in the middle of a top-level await.
 */
async function fetchWithin(url: string, ms = 2000): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no answer within ${ms} ms`)), ms);
  try {
    return await fetch(url, { signal: abort.signal });
  } finally {
    clearTimeout(timer);
  }
}

async function waitHealthy(expectVersion: string, timeoutMs = 120_000): Promise<number> {
  const start = now();
  while (now() - start < timeoutMs) {
    try {
      const [health, version] = await Promise.all([
        fetchWithin(a.healthUrl),
        fetchWithin(`${a.baseUrl}/version/`).then((r) => r.text()),
      ]);
      if (health.status === 200 && version === expectVersion) return now() - start;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`instance a did not answer healthy on ${expectVersion} within ${timeoutMs} ms`);
}

/** What instance a answers on /version/ now, or why it does not (the seed's flow may end mid-start). */
async function versionNow(): Promise<string> {
  try {
    return await fetchWithin(`${a.baseUrl}/version/`).then((r) => r.text());
  } catch (err) {
    return `no answer (${(err as Error).message})`;
  }
}

/** Where the bench is, on stderr: a run takes minutes. */
const progress = (what: string) => console.error(`bench: ${what}`);

function setImage(tag: string): void {
  sh(`sed -i 's|^EQMD_IMAGE=.*|EQMD_IMAGE=${h.image}:${tag}|' ${a.projectDir}/.env`);
}

/** Compose v2 as user deploy has it (its CLI plugin), run by hand. */
const compose = (args: string) =>
  sh(
    `cd ${a.projectDir} && DOCKER_CONFIG=$(getent passwd deploy | cut -d: -f6)/.docker docker compose ${args} >/dev/null 2>&1`,
  );
const appContainer = () =>
  sh(
    `docker ps -q --filter label=com.docker.compose.project=eqmd-a --filter label=com.docker.compose.service=eqmd`,
  ).trim();

/** The floor: what `compose up -d` alone costs to switch images until health answers. */
async function bareSwitch(tag: string): Promise<number> {
  setImage(tag);
  const start = now();
  compose('up -d --no-deps eqmd');
  await waitHealthy(tag);
  return now() - start;
}

/**
 * By hand, what the action's backup set holds, as fast as an operator with root on the host gets it: the
 * running image kept under a tag, a consistent copy of the live SQLite file (the backup API) out of the
 * container, the two volumes archived straight from Docker's directory (the seed's static-files backup
 * copies that directory), and the env and compose files.
 */
function handBackup(): void {
  const c = appContainer();
  const dir = '/tmp/eqmd-hand-backup';
  sh(
    `rm -rf ${dir} && mkdir -p ${dir} && ` +
      `docker tag "$(docker inspect -f '{{.Image}}' ${c})" eqmd-hand:backup && ` +
      `docker exec ${c} python3 -c "import sqlite3; s=sqlite3.connect('/app/database/db.sqlite3'); d=sqlite3.connect('/tmp/hand.sqlite3'); s.backup(d); d.close()" && ` +
      `docker cp ${c}:/tmp/hand.sqlite3 /tmp/eqmd-hand-backup.sqlite3 && docker exec ${c} rm -f /tmp/hand.sqlite3 && ` +
      `for v in static_files media_files; do tar -C "$(docker volume inspect -f '{{.Mountpoint}}' eqmd-a_$v)" -cf ${dir}/$v.tar .; done && ` +
      `cp ${a.projectDir}/.env ${a.projectDir}/docker-compose.yml ${dir}/`,
  );
}

/** By hand, a good deploy: the copy, then the switch until 200. */
async function handGoodDeploy(tag: string): Promise<number> {
  const start = now();
  handBackup();
  setImage(tag);
  compose('up -d --no-deps eqmd');
  await waitHealthy(tag);
  return now() - start;
}

/** By hand, the broken deploy: copy, switch to v3 until its first 500, stop, database back, switch back. */
async function handBrokenDeploy(): Promise<number> {
  const start = now();
  handBackup();
  setImage('v3');
  compose('up -d --no-deps eqmd');
  for (;;) {
    const status = await fetchWithin(a.healthUrl).then(
      (r) => r.status,
      () => 0,
    );
    if (status >= 500) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  compose('stop eqmd');
  const c = sh(
    `docker ps -aq --filter label=com.docker.compose.project=eqmd-a --filter label=com.docker.compose.service=eqmd`,
  ).trim();
  sh(
    `docker run --rm -i --network none --volumes-from ${c} --entrypoint sh ${h.image}:v1 ` +
      `-c 'cat > /app/database/db.sqlite3 && rm -f /app/database/db.sqlite3-wal /app/database/db.sqlite3-shm' < /tmp/eqmd-hand-backup.sqlite3`,
  );
  setImage('v1');
  compose('up -d --no-deps eqmd');
  await waitHealthy('v1');
  return now() - start;
}

/** The floor of a database restore: stop, copy the backup file into the volume, start until healthy. */
async function bareDbRestore(): Promise<number> {
  const set = sh(`ls -d ${a.projectDir}/backups/2*/ | tail -1`).trim();
  const c = appContainer();
  const start = now();
  compose('stop eqmd');
  // The least a correct restore does: write the file as the app's user and drop the stale WAL
  // (a root-owned file or a leftover -wal leaves the app answering 500).
  const image = sh(`docker inspect -f '{{.Image}}' ${c}`).trim();
  sh(
    `docker run --rm -i --network none --volumes-from ${c} --entrypoint sh ${image} ` +
      `-c 'cat > /app/database/db.sqlite3 && rm -f /app/database/db.sqlite3-wal /app/database/db.sqlite3-shm' < ${set}database.sqlite3`,
  );
  compose('start eqmd');
  await waitHealthy('v1');
  return now() - start;
}

function deployReport(dir: string): { timings: { totalMs: number; detectMs: number; recoveryMs: number } } {
  const root = join(dir, 'eqmd-rollback');
  const sub = readdirSync(root).find((d) => d.startsWith('deploy-'))!;
  return JSON.parse(readFileSync(join(root, sub, 'deploy-report.json'), 'utf8'));
}

const inputs = (version: string) => ({
  command: 'deploy',
  ...connectionInputs(h, 'v2'),
  'project-dir': a.projectDir,
  version,
  'health-url': 'http://localhost:8778/health/',
  'health-interval': '1',
  'upload-artifact': 'false',
});

/** The seed's flow: upgrade.sh-style deploy with its fixed waits, then emergency_rollback.sh. */
function seedFlow(): { ms: number; endedHealthy: boolean; claimed: string } {
  const script = `
set -u
cd ${a.projectDir}
TS=$(date +%Y%m%d-%H%M%S)
docker tag $(docker inspect -f '{{.Image}}' $(docker ps -q --filter label=com.docker.compose.project=eqmd-a --filter label=com.docker.compose.service=eqmd)) eqmd:backup-$TS  # upgrade.sh
sed -i 's|^EQMD_IMAGE=.*|EQMD_IMAGE=${h.image}:v3|' .env; docker-compose up -d eqmd >/dev/null 2>&1
sleep 10
ok=0; for i in $(seq 1 30); do curl -fs ${a.healthUrl} >/dev/null && { ok=1; break; }; sleep 2; done
[ $ok = 1 ] && exit 0
# emergency_rollback.sh, as written in the seed
LATEST_BACKUP=$(docker images --format "table {{.Repository}}:{{.Tag}}" | grep "eqmd:backup-" | head -1 | cut -d':' -f2)
docker tag "eqmd:$LATEST_BACKUP" eqmd:latest
docker-compose up -d eqmd >/dev/null 2>&1
echo "Rollback completed"
`;
  const start = now();
  const out = sh(script);
  const ms = now() - start;
  const code = Number(sh(`sleep 3; curl -s -o /dev/null -w '%{http_code}' ${a.healthUrl} || true`).trim());
  sh(
    `docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^eqmd:(backup-|latest)' | xargs -r docker rmi >/dev/null 2>&1 || true`,
  );
  return {
    ms,
    endedHealthy: code === 200,
    claimed: out.includes('Rollback completed') ? 'reported "Rollback completed"' : 'reported failure',
  };
}

console.log(
  `eqmd-rollback benchmark on the local test host (instance a, SQLite), ${RUNS} runs each, medians\n`,
);
/** A backup set, so the database-restore floor has a file to copy (a reset removes the sets). */
const backupForTheFloor = () =>
  runAction({
    command: 'backup',
    ...connectionInputs(h, 'v2'),
    'project-dir': a.projectDir,
    'upload-artifact': 'false',
  });

const floorSwitch: number[] = [];
const floorDb: number[] = [];
const handGood: number[] = [];
const handBroken: number[] = [];
for (let i = 0; i < RUNS; i++) {
  progress(`by hand, run ${i + 1} of ${RUNS}`);
  resetInstance('a');
  await backupForTheFloor();
  floorSwitch.push(await bareSwitch('v5'));
  floorSwitch.push(await bareSwitch('v1'));
  floorDb.push(await bareDbRestore());
  resetInstance('a');
  handGood.push(await handGoodDeploy('v5'));
  resetInstance('a');
  handBroken.push(await handBrokenDeploy());
}

const good: number[] = [];
let handshakes = 0;
const detect: number[] = [];
const recovery: number[] = [];
const broken: number[] = [];
let brokenEndedHealthy = true;
for (let i = 0; i < RUNS; i++) {
  progress(`the action, run ${i + 1} of ${RUNS}`);
  resetInstance('a');
  const t = now();
  const g = await runAction(inputs('v5'));
  good.push(now() - t);
  if (g.code !== 0) throw new Error(`good deploy failed:\n${g.stdout}`);
  handshakes = Math.max(handshakes, (g.stdout.match(/^connected to /gm) ?? []).length);

  resetInstance('a');
  const t2 = now();
  const b = await runAction(inputs('v3'));
  broken.push(now() - t2);
  handshakes = Math.max(handshakes, (b.stdout.match(/^connected to /gm) ?? []).length);
  const rep = deployReport(b.dir).timings;
  detect.push(rep.detectMs);
  recovery.push(rep.recoveryMs);
  brokenEndedHealthy &&= b.outputs.health === 'healthy' && b.outputs['rolled-back'] === 'true';
}

resetInstance('a');
const seed = seedFlow();

// Emergency rollback after a good deploy (v1 → v5): ours vs the seed's emergency_rollback.sh.
const emergency: number[] = [];
let emergencyEndedOn = '';
for (let i = 0; i < RUNS; i++) {
  resetInstance('a');
  const d = await runAction(inputs('v5'));
  if (d.code !== 0) throw new Error(`setup deploy failed:\n${d.stdout}`);
  const t = now();
  const r = await runAction({ ...inputs('v5'), command: 'rollback', version: '' });
  emergency.push(now() - t);
  emergencyEndedOn = `${await versionNow()}, ${r.outputs.health}`;
}
resetInstance('a');
const seedDeploy = await runAction(inputs('v5'));
if (seedDeploy.code !== 0) throw new Error('setup deploy for the seed emergency rollback failed');
sh(`docker tag ${h.image}:v1 eqmd:backup-20240101-000000`);
const t3 = now();
sh(
  `cd ${a.projectDir} && LATEST_BACKUP=$(docker images --format "table {{.Repository}}:{{.Tag}}" | grep "eqmd:backup-" | head -1 | cut -d':' -f2) && docker tag "eqmd:$LATEST_BACKUP" eqmd:latest && docker-compose up -d eqmd >/dev/null 2>&1`,
);
const seedEmergencyMs = now() - t3;
const seedEmergencyEndedOn = await versionNow();
sh(`docker rmi eqmd:latest eqmd:backup-20240101-000000 eqmd-hand:backup >/dev/null 2>&1 || true`);
resetInstance('a');

const floor = median(floorSwitch) + median(floorDb);
const rows: [string, string][] = [
  ['bare `compose up -d` switch until healthy (floor)', s(median(floorSwitch))],
  ['bare SQLite copy into the volume + restart until healthy (floor)', s(median(floorDb))],
  ['by hand: good deploy (image tag, SQLite copy, volumes, env; switch until 200)', s(median(handGood))],
  [
    'by hand: broken deploy (the same backup, switch until the first 500, stop, database back, switch back until 200)',
    s(median(handBroken)),
  ],
  [
    'good deploy through the action (backup + pull + switch + verify), total',
    `${s(median(good))} (SSH handshakes: ${handshakes})`,
  ],
  ['broken deploy: switch → failure decided', s(median(detect))],
  ['broken deploy: recovery (decision → previous version healthy, data restored)', s(median(recovery))],
  [
    'broken deploy with automatic rollback, total',
    `${s(median(broken))} (ended healthy with every row: ${brokenEndedHealthy})`,
  ],
  [
    "seed's upgrade + emergency_rollback.sh, total",
    `${s(seed.ms)} (${seed.claimed}; ended healthy: ${seed.endedHealthy})`,
  ],
  [
    'emergency rollback through the action (connect → previous version verified healthy, database restored)',
    `${s(median(emergency))} (ended on ${emergencyEndedOn})`,
  ],
  [
    "seed's emergency_rollback.sh after the same deploy",
    `${s(seedEmergencyMs)} (running version afterwards: ${seedEmergencyEndedOn}: unchanged, compose runs EQMD_IMAGE, not eqmd:latest)`,
  ],
];
const ratios: [string, string, string][] = [
  ['broken deploy: action total / by hand', (median(broken) / median(handBroken)).toFixed(2), 'target ≤ 2.5'],
  ['good deploy: action total / by hand', (median(good) / median(handGood)).toFixed(2), 'target ≤ 2'],
  ['seed flow / our broken-deploy total', (seed.ms / median(broken)).toFixed(1), 'target ≥ 5'],
  ['SSH connections per run', String(handshakes), 'target 1'],
  ['recovery / (switch + db restore floor)', (median(recovery) / floor).toFixed(2), 'target ≤ 2'],
  [
    'emergency rollback / bare switch floor',
    (median(emergency) / median(floorSwitch)).toFixed(1),
    'seed promises < 60 s',
  ],
];
const table = [
  '| measurement | value |',
  '|---|---|',
  ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  '',
  '| ratio | value | target |',
  '|---|---|---|',
  ...ratios.map(([k, v, t]) => `| ${k} | ${v} | ${t} |`),
].join('\n');
console.log(table);
writeFileSync(process.env.BENCH_OUT ?? '/tmp/eqmd-bench.md', `${table}\n`);
