/**
 * `npm run demo`: the whole story on the local throwaway host (testhost/up.sh has brought it up), with
 * the built action run exactly as a runner runs it (main step, then post step; the manifests uploaded to
 * a local double of GitHub's artifact service). On instance a (Django + SQLite, Compose v2):
 *
 *  1. a good release (v2, a compatible migration) is deployed;
 *  2. records are written through it;
 *  3. a broken release (v3 drops a column, answers 500) is decided in seconds and rolled back: old image,
 *     env file, database; the records of step 2 intact;
 *  4. a release that crash-loops (v4) is caught at once and rolled back;
 *  5. a release whose migration the old code cannot write with (v8) is deployed, written to, and then
 *     undone by the emergency rollback: its migration is migrated back, every record kept;
 *  6. a destructive release (v9 drops a column) is deployed and written to, then the emergency rollback
 *     restores the database (the dropped values are back) and carries the writes made since over;
 *  7. for contrast, the seed's own emergency script after the same broken upgrade: it reports success
 *     while the app answers 500;
 *  8. behind HAProxy (instance d, examples/zero-downtime, strategy zero-downtime), under 20 clients of
 *     GETs and POSTs: a good release switched beside the running one, then the broken one held and
 *     rolled back: no request fails.
 *
 * It ends with a table and writes each step summary to .demo/ (markdown, and one HTML page).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addRecord,
  connectionInputs,
  recordCount,
  resetInstance,
  runWithPost,
  servedVersion,
  sh,
  testHost,
  type ActionRun,
  type Instance,
} from '../__tests__/e2e/harness.js';
import { startLoad } from '../testhost/load.js';
import { startResultsDouble } from '../testhost/results-double.js';

const h = testHost();
const { a, d } = h.instances;
const OUT = join(import.meta.dirname, '..', '.demo');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const double = await startResultsDouble();

interface Row {
  step: string;
  command: string;
  result: string;
  rows: string;
  serving: string;
  seconds: string;
}
const table: Row[] = [];
const summaries: { title: string; markdown: string }[] = [];

/** What instance a answers now, or why it does not. */
async function state(i: Instance = a): Promise<{ version: string; health: number; rows: number | string }> {
  const health = await fetch(i.healthUrl).then(
    (r) => r.status,
    () => 0,
  );
  const version = await servedVersion(i).catch(() => 'no answer');
  const rows = await recordCount(i).catch(() => 'no answer');
  return { version, health, rows };
}

async function act(
  step: string,
  inputs: Record<string, string>,
  expect: string,
  i: Instance = a,
): Promise<ActionRun> {
  const before = await state(i);
  const started = performance.now();
  const { main } = await runWithPost(
    { ...connectionInputs(h, 'v2'), 'project-dir': i.projectDir, 'health-url': i.healthUrl, ...inputs },
    double.env(),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const after = await state(i);
  const what = `${inputs.command}${inputs.version ? ` ${inputs.version}` : ''}`;
  console.log(`\n===== ${table.length + 1}. ${step}: ${what} → ${main.outputs.result} in ${seconds} s =====`);
  for (const l of main.stdout.split('\n'))
    if (/^(::error|::warning|migrations |database: |deployed |rolled back|deploy of )/.test(l))
      console.log(l);
  for (const l of main.summary.split('\n'))
    if (/ carried over: /.test(l)) console.log(`summary: ${l.slice(2)}`);
  table.push({
    step,
    command: what,
    result: main.outputs.result ?? `exit ${main.code}`,
    rows: `${before.rows} → ${after.rows}`,
    serving: `${after.version} (HTTP ${after.health})`,
    seconds,
  });
  summaries.push({ title: `${table.length}. ${step}`, markdown: main.summary });
  writeFileSync(join(OUT, `${table.length}-${what.replace(/\W+/g, '-')}.md`), main.summary);
  if (main.outputs.result !== expect) {
    console.error(main.stdout.slice(-4000), main.stderr);
    throw new Error(`${step}: expected result ${expect}, got ${main.outputs.result}`);
  }
  return main;
}

/** The seed's upgrade.sh, then its emergency_rollback.sh, as rollback-procedures.md writes them. */
async function seedContrast(): Promise<void> {
  const started = performance.now();
  const out = sh(`
set -u
cd ${a.projectDir}
docker tag "$(docker inspect -f '{{.Image}}' "$(docker ps -q --filter label=com.docker.compose.project=eqmd-a --filter label=com.docker.compose.service=eqmd)")" eqmd:backup-demo
sed -i 's|^EQMD_IMAGE=.*|EQMD_IMAGE=${h.image}:v3|' .env
docker-compose up -d eqmd >/dev/null 2>&1
sleep 5
LATEST_BACKUP=$(docker images --format "table {{.Repository}}:{{.Tag}}" | grep "eqmd:backup-" | head -1 | cut -d':' -f2)
docker tag "eqmd:$LATEST_BACKUP" eqmd:latest
docker-compose up -d eqmd >/dev/null 2>&1
echo "Rollback completed"
`);
  await new Promise((r) => setTimeout(r, 3000));
  const after = await state();
  sh(`docker rmi eqmd:latest eqmd:backup-demo >/dev/null 2>&1 || true`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `\n===== ${table.length + 1}. the seed's emergency_rollback.sh after the same broken upgrade =====`,
  );
  console.log(`it printed: ${out.trim()}; instance a now serves ${after.version} with HTTP ${after.health}`);
  table.push({
    step: "for contrast: the seed's upgrade + emergency_rollback.sh",
    command: 'bash (by hand)',
    result: out.includes('Rollback completed') ? '"Rollback completed"' : 'failed',
    rows: `… → ${after.rows}`,
    serving: `${after.version} (HTTP ${after.health})`,
    seconds,
  });
}

try {
  resetInstance('a');
  await act('a good release (compatible migration)', { command: 'deploy', version: 'v2' }, 'succeeded');
  for (const n of [1, 2, 3]) await addRecord(a, `patient written through v2 #${n}`);
  await act(
    'a broken release: drops a column, answers 500',
    { command: 'deploy', version: 'v3' },
    'rolled-back',
  );
  await act('a release that crash-loops at start', { command: 'deploy', version: 'v4' }, 'rolled-back');
  await act('a release the old code cannot write with', { command: 'deploy', version: 'v8' }, 'succeeded');
  for (const n of [1, 2]) await addRecord(a, `patient written through v8 #${n}`);
  await act('emergency rollback: v8 migrated back, records kept', { command: 'rollback' }, 'succeeded');
  await addRecord(a, 'patient written through v2 after the rollback');
  await act(
    'a destructive release: drops a column, healthy',
    { command: 'deploy', version: 'v9' },
    'succeeded',
  );
  for (const n of [1, 2]) await addRecord(a, `patient written through v9 #${n}`);
  await act(
    'emergency rollback: v9 restored, later writes carried over',
    { command: 'rollback' },
    'succeeded',
  );
  resetInstance('a');
  await seedContrast();
  resetInstance('a');
  await zeroDowntimeStory();

  const md = [
    '| # | step | command | result | patient rows (before → after) | serving afterwards | seconds |',
    '|---|---|---|---|---|---|---|',
    ...table.map(
      (r, i) =>
        `| ${i + 1} | ${r.step} | ${r.command} | ${r.result} | ${r.rows} | ${r.serving} | ${r.seconds} |`,
    ),
  ].join('\n');
  console.log(`\n${md}\n`);
  writeFileSync(join(OUT, 'story.md'), `# eqmd-rollback demo\n\n${md}\n`);
  writeFileSync(join(OUT, 'story.html'), page(md));
  const artifacts = await double.artifacts();
  console.log(
    `Artifacts received by the local results service: ${artifacts.length} (${artifacts.map((x) => x.name).join(', ')})`,
  );
  console.log(`Step summaries: ${OUT}/ (story.html shows them all; the .md files are what GitHub renders)`);
} finally {
  await double.close();
}

/**
 * Instance d, the same app behind HAProxy (examples/zero-downtime): a good release switched beside the
 * running one, then a broken destructive one held, rolled back and its database restored, each under
 * 20 clients of GETs and POSTs: what the users saw.
 */
async function zeroDowntimeStory(): Promise<void> {
  resetInstance('d');
  for (const [step, version, expect] of [
    ['behind HAProxy, 20 clients: a good release, verified beside the running one', 'v2', 'succeeded'],
    ['behind HAProxy, 20 clients: the broken release, requests held, rolled back', 'v3', 'rolled-back'],
  ] as const) {
    const load = startLoad(d.baseUrl, 20, `demo-${version}`);
    await new Promise((r) => setTimeout(r, 500));
    await act(step, { command: 'deploy', version, strategy: 'zero-downtime' }, expect, d);
    const r = await load.stop();
    const line = `users: ${r.sent} requests, ${r.failed} failed, ${r.refused} refused, ${r.acked.length} writes acknowledged, longest ${r.maxMs} ms`;
    console.log(line);
    table.at(-1)!.result += ` (${r.sent} requests, ${r.failed} failed)`;
    if (r.failed)
      throw new Error(`${step}: ${r.failed} requests failed: ${r.failures.slice(0, 3).join('; ')}`);
  }
}

/** One HTML page of the story and every step summary, the markdown shown as it was written. */
function page(md: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<!doctype html><meta charset="utf-8"><title>eqmd-rollback demo</title>',
    '<style>body{font:15px system-ui;max-width:70em;margin:2em auto}pre{white-space:pre-wrap;background:#f6f8fa;padding:1em}</style>',
    '<h1>eqmd-rollback demo</h1>',
    `<pre>${esc(md)}</pre>`,
    ...summaries.map((s) => `<h2>${esc(s.title)}</h2><pre>${esc(s.markdown)}</pre>`),
  ].join('\n');
}
