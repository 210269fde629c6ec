import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import { connectionInputs, resetInstances, runWithPost, sh, testHost } from './harness.js';

const h = testHost();
const { b, c } = h.instances;

/** Rows per table as the live database has them, read with psql. */
function liveCounts(psql: string): Record<string, number> {
  const tables = sh(
    `${psql} -tAc "SELECT schemaname||'.'||tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1"`,
  )
    .trim()
    .split('\n')
    .filter(Boolean);
  return Object.fromEntries(
    tables.map((t) => [t, Number(sh(`${psql} -tAc 'SELECT count(*) FROM ${t}'`).trim())]),
  );
}

describe('PostgreSQL backups', () => {
  before(async () => {
    await resetInstances('b', 'c');
  });

  test('through the compose postgres service, over the docker-compose v1 path', async () => {
    const { main, post } = await runWithPost({
      command: 'backup',
      ...connectionInputs(h, 'v1'),
      'project-dir': b.projectDir,
      'upload-artifact': 'false',
    });
    assert.equal(main.code, 0, main.stdout + main.stderr);
    const m = JSON.parse(readFileSync(main.outputs.manifest!, 'utf8')) as Manifest;
    assert.equal(m.composeFlavor, 'v1');
    assert.equal(m.project, 'eqmd-b');
    assert.ok(m.database.kind === 'postgres' && m.database.via === 'postgres-service');
    const pgContainer = sh(
      `docker ps -q --filter label=com.docker.compose.project=eqmd-b --filter label=com.docker.compose.service=postgres`,
    ).trim();
    const psql = `docker exec ${pgContainer} sh -c 'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"' psql`;
    assert.deepEqual(
      m.database.tables,
      liveCounts(psql),
      'row counts read from the dump equal the live database',
    );
    assert.ok((m.database.tables['public.records_patient'] ?? 0) >= 50);
    const dump = join(b.projectDir, 'backups', m.id, 'database.dump');
    // The dump is a real custom-format archive that pg_restore reads in full.
    sh(`docker exec -i ${pgContainer} pg_restore -f /dev/null < ${dump}`);
    assert.match(sh(`head -c 5 ${dump}`), /^PGDMP/);
    assert.deepEqual(
      m.volumes.map((v) => v.name).sort(),
      ['eqmd-b_media_files', 'eqmd-b_static_files'],
      'the postgres data volume is dumped, not archived raw',
    );
    assert.equal(post.code, 0);
  });

  test('by database-url from the host: the password is never printed or recorded', async () => {
    const secret = new URL(c.databaseUrl!).password;
    const { main } = await runWithPost({
      command: 'backup',
      ...connectionInputs(h, 'v2'),
      'project-dir': c.projectDir,
      'database-url': c.databaseUrl!,
      'upload-artifact': 'false',
    });
    assert.equal(main.code, 0, main.stdout + main.stderr);
    const m = JSON.parse(readFileSync(main.outputs.manifest!, 'utf8')) as Manifest;
    assert.ok(m.database.kind === 'postgres' && m.database.via === 'database-url');
    const psql = `PGPASSWORD=${secret} psql -h 127.0.0.1 -U eqmd -d eqmd_c`;
    assert.deepEqual(m.database.tables, liveCounts(psql));
    const printed = main.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const [where, text] of Object.entries({
      stdout: printed,
      stderr: main.stderr,
      summary: main.summary,
      manifest: JSON.stringify(m),
      outputs: JSON.stringify(main.outputs),
    })) {
      assert.ok(!text.includes(secret), `the database password appears in ${where}`);
    }
    assert.match(main.stdout, new RegExp(`::add-mask::${secret}`), 'the password is masked for the runner');
  });
});
