/**
 * The whole story against the local throwaway host (testhost/up.sh has brought it up): the built action,
 * run exactly as a runner runs it, backs up a SQLite instance and a PostgreSQL one, lists the sets,
 * and uploads the manifest to a local double of GitHub's artifact service.
 */
import { readFileSync } from 'node:fs';
import { connectionInputs, runWithPost, testHost, type ActionRun } from '../__tests__/e2e/harness.js';
import { startResultsDouble } from '../testhost/results-double.js';

const h = testHost();
const double = await startResultsDouble();

function show(title: string, run: ActionRun): void {
  console.log(`\n===== ${title}: exit ${run.code} =====`);
  const log = run.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::') && !l.startsWith('::debug::'));
  console.log(log.join('\n').trim());
  console.log('\n--- outputs ---');
  for (const [k, v] of Object.entries(run.outputs))
    console.log(`${k} = ${v.length > 300 ? `${v.slice(0, 300)}…` : v}`);
  console.log('\n--- step summary ---');
  console.log(run.summary.trim());
  if (run.code !== 0) {
    console.error(run.stderr);
    throw new Error(`${title} failed`);
  }
}

try {
  const sqlite = await runWithPost(
    { command: 'backup', ...connectionInputs(h, 'v2'), 'project-dir': h.instances.a.projectDir },
    double.env(),
  );
  show('backup of instance a (SQLite in a named volume, docker compose)', sqlite.main);
  const pg = await runWithPost(
    { command: 'backup', ...connectionInputs(h, 'v1'), 'project-dir': h.instances.b.projectDir },
    double.env(),
  );
  show('backup of instance b (PostgreSQL compose service, docker-compose v1)', pg.main);
  const list = await runWithPost(
    { command: 'list', ...connectionInputs(h, 'v2'), 'project-dir': h.instances.a.projectDir },
    double.env(),
  );
  show('list of instance a', list.main);

  const manifest = JSON.parse(readFileSync(sqlite.main.outputs.manifest!, 'utf8')) as {
    files: unknown[];
    database: unknown;
  };
  console.log('\n===== the manifest of the SQLite backup (what the artifact holds) =====');
  console.log(JSON.stringify({ files: manifest.files, database: manifest.database }, null, 2));
  console.log('\n===== artifacts received by the local results service =====');
  for (const a of await double.artifacts()) console.log(`${a.id}  ${a.name}  ${a.size} bytes  ${a.hash}`);
} finally {
  await double.close();
}
