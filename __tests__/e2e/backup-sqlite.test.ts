import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import { startResultsDouble, type ResultsDouble } from '../../testhost/results-double.js';
import {
  addRecord,
  connectionInputs,
  recordCount,
  resetInstance,
  runWithPost,
  sh,
  testHost,
} from './harness.js';

const h = testHost();
const a = h.instances.a;

describe('backup of a SQLite instance (docker compose v2 path) while the app keeps writing', () => {
  let double: ResultsDouble;
  before(async () => {
    resetInstance('a');
    double = await startResultsDouble();
  });
  after(async () => double?.close());

  test('makes a verified, consistent set, keeps the image under a namespaced tag and uploads only the manifest', async () => {
    const atStart = await recordCount(a);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await addRecord(a, `during-backup-${written}`);
        written++;
      }
    })();
    const { main, post } = await runWithPost(
      { command: 'backup', ...connectionInputs(h, 'v2'), 'project-dir': a.projectDir },
      double.env(),
    );
    writing = false;
    await writer;
    assert.equal(main.code, 0, main.stdout + main.stderr);
    assert.ok(written > 0, 'the writer really wrote during the backup');

    const id = main.outputs['backup-id']!;
    assert.match(id, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const manifest = JSON.parse(readFileSync(main.outputs.manifest!, 'utf8')) as Manifest;
    const setDir = join(a.projectDir, 'backups', id);
    const onHost = JSON.parse(readFileSync(join(setDir, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(
      onHost.host.address,
      `${h.ssh.users.v2}@${h.ssh.host}:${h.ssh.port}`,
      'the host keeps its own address',
    );
    assert.equal(manifest.host.address, '', 'the uploaded copy omits the host address');
    assert.deepEqual({ ...onHost, host: { ...onHost.host, address: '' } }, manifest, 'otherwise equal');
    assert.equal(manifest.verified, true);
    assert.equal(manifest.project, 'eqmd-a');
    assert.equal(manifest.composeFlavor, 'v2');
    assert.equal(manifest.run.repository, 'org/equipemed');
    assert.equal(manifest.image.envValue, `${h.image}:v1`);

    // The copy is consistent and complete: SQLite's own tools agree with the manifest.
    assert.equal(manifest.database.kind, 'sqlite');
    const db = join(setDir, 'database.sqlite3');
    assert.equal(sh(`sqlite3 ${db} 'PRAGMA integrity_check'`).trim(), 'ok');
    const copied = Number(sh(`sqlite3 ${db} 'SELECT count(*) FROM records_patient'`).trim());
    assert.ok(manifest.database.kind === 'sqlite' && manifest.database.tables.records_patient === copied);
    assert.ok(copied >= atStart, `rows in the copy (${copied}) >= rows at start (${atStart})`);
    assert.equal(
      sh(`sqlite3 ${db} 'PRAGMA journal_mode'`).trim(),
      'delete',
      'the copy is self-contained (no WAL)',
    );

    // Every file's checksum is true, and the volume holding the database is not archived raw.
    for (const f of manifest.files) {
      assert.equal(sh(`sha256sum < ${join(setDir, f.path)}`).split(' ')[0], f.sha256, f.path);
    }
    assert.deepEqual(manifest.volumes.map((v) => v.name).sort(), [
      'eqmd-a_media_files',
      'eqmd-a_static_files',
    ]);
    assert.match(sh(`tar -tf ${join(setDir, 'volumes/eqmd-a_static_files.tar')}`), /manifest\.json/);
    assert.match(
      sh(`stat -c %a ${setDir}`).trim(),
      /00$/,
      'no access for group or others, even under a default ACL',
    );
    assert.equal(
      sh(`docker image inspect -f '{{.Id}}' eqmd-rollback/eqmd-a:${id}`).trim(),
      manifest.image.id,
    );
    assert.equal(
      sh(`docker ps -aq --filter label=eqmd-rollback.helper=${id}`).trim(),
      '',
      'no helper container left',
    );

    // The artifact holds the manifest and nothing else (never medical data).
    assert.ok(main.outputs['artifact-id']);
    const stored = (await double.artifacts()).filter((x) => x.name === `eqmd-backup-${id}`);
    assert.equal(stored.length, 1);
    const zip = join(main.dir, 'artifact.zip');
    writeFileSync(zip, stored[0]!.zip);
    assert.deepEqual(execFileSync('unzip', ['-Z1', zip]).toString().trim().split('\n'), ['manifest.json']);
    assert.equal(
      execFileSync('unzip', ['-p', zip, 'manifest.json']).toString(),
      readFileSync(main.outputs.manifest!, 'utf8'),
    );

    assert.match(main.summary, /backup .* verified/);
    assert.match(main.summary, /SQLite integrity_check of the copy \| ✅/);
    assert.equal(post.code, 0);
    assert.match(post.stdout, /nothing left to clean up/);
  });

  test('a run cancelled mid-backup leaves a temp set that the post step removes', async () => {
    const backups = join(a.projectDir, 'backups');
    const tmpSets = () => sh(`ls -a ${backups} 2>/dev/null | grep '^\\.tmp-' || true`).trim();
    const { runAction } = await import('./harness.js');
    const main = await runAction(
      {
        command: 'backup',
        ...connectionInputs(h, 'v2'),
        'project-dir': a.projectDir,
        'upload-artifact': 'false',
      },
      { killWhen: () => sh(`ls ${backups}/.tmp-*/database.sqlite3 2>/dev/null || true`).trim() !== '' },
    );
    assert.notEqual(main.code, 0, 'the main step was killed');
    assert.notEqual(tmpSets(), '', 'the killed run left its temporary set behind');
    assert.ok(main.state.pending, 'the main step saved what to clean up');
    const post = await runAction(
      { command: 'backup', ...connectionInputs(h, 'v2'), 'project-dir': a.projectDir },
      { dir: main.dir, post: true },
    );
    assert.equal(post.code, 0, post.stdout);
    assert.match(post.stdout, /removed the unfinished backup set/);
    assert.match(post.stdout, /released the host lock .* left by the main step/);
    assert.ok(
      !existsSync(join(a.projectDir, '.eqmd-rollback.lock')),
      'the killed run does not leave the project locked',
    );
    // The remote step may still be finishing when the post step runs; give it a moment, then check.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(tmpSets(), '', 'no temporary set left');
    const id = /\.tmp-(\S+)/.exec(JSON.parse(main.state.pending!).paths.tmp)?.[1];
    assert.equal(
      sh(`docker images -q eqmd-rollback/eqmd-a:${id}`).trim(),
      '',
      'the backup tag of the unfinished set is gone',
    );
  });

  test('a temp set left by a run whose post step never ran is removed by the next run under the lock', async () => {
    const backups = join(a.projectDir, 'backups');
    const tmpSets = () => sh(`ls -a ${backups} 2>/dev/null | grep '^\\.tmp-' || true`).trim();
    const { runAction } = await import('./harness.js');
    const inputs = {
      command: 'backup',
      ...connectionInputs(h, 'v2'),
      'project-dir': a.projectDir,
      'upload-artifact': 'false',
    };
    const killed = await runAction(inputs, {
      killWhen: () => sh(`ls ${backups}/.tmp-*/database.sqlite3 2>/dev/null || true`).trim() !== '',
    });
    assert.notEqual(killed.code, 0, 'the main step was killed');
    const left = tmpSets();
    assert.notEqual(left, '', 'the killed run left its temporary set behind');
    // The runner is gone with it: no post step. The stale lock is broken by the next run's request.
    await new Promise((r) => setTimeout(r, 1500));
    const next = await runWithPost({ ...inputs, 'break-stale-lock': 'true' });
    assert.equal(next.main.code, 0, next.main.stdout);
    assert.match(
      next.main.stdout,
      new RegExp(
        `::warning::removed 1 unfinished backup set\\(s\\) an interrupted run left: ${left.replace('.tmp-', '')}`,
      ),
    );
    assert.equal(tmpSets(), '', 'no temporary set left');
  });

  test('a manifest cut short on its way to the host: the step fails and no set is committed', async () => {
    // The "cut" key's forced command hands the step that writes manifest.json only the first 64 bytes
    // of its stdin, then end of input: a connection dropped while the manifest streams.
    const backups = join(a.projectDir, 'backups');
    const before = sh(`ls -a ${backups} 2>/dev/null || true`);
    const { main, post } = await runWithPost({
      command: 'backup',
      ...connectionInputs(h, 'v2'),
      'private-key': readFileSync(h.ssh.cutManifestKeyPath, 'utf8'),
      'project-dir': a.projectDir,
      'upload-artifact': 'false',
    });
    assert.notEqual(main.code, 0, 'a backup whose manifest did not arrive whole must fail');
    assert.match(main.stdout, /stdin ended after 64 of \d+ bytes \(connection cut\?\): nothing committed/);
    assert.equal(main.outputs['backup-id'], undefined, 'no backup-id is reported for a set never committed');
    assert.equal(sh(`ls -a ${backups}`), before, 'no set committed and no temporary set left');
    assert.equal(post.code, 0, post.stdout);
  });

  test('a set whose manifest is empty is listed as invalid, never restored and never pruned', async () => {
    const backups = join(a.projectDir, 'backups');
    const bogus = '20200101T000000Z-0e0e0e';
    // The deploy user's own, closed directory: only the empty manifest makes it no set.
    sh(
      `mkdir -p ${backups}/${bogus} && : > ${backups}/${bogus}/manifest.json && cp ${a.projectDir}/.env ${backups}/${bogus}/env` +
        ` && chown -R deploy ${backups}/${bogus} && chmod 700 ${backups}/${bogus}`,
    );
    try {
      const inputs = {
        ...connectionInputs(h, 'v2'),
        'project-dir': a.projectDir,
        'upload-artifact': 'false',
      };
      const listed = await runWithPost({ ...inputs, command: 'list' });
      assert.equal(listed.main.code, 0, listed.main.stdout);
      assert.match(
        listed.main.stdout,
        new RegExp(`::warning::not a readable backup set: ${bogus}: no manifest.json`),
      );
      assert.ok(!(JSON.parse(listed.main.outputs.backups!) as { id: string }[]).some((s) => s.id === bogus));
      const rolled = await runWithPost({ ...inputs, command: 'rollback', 'backup-id': bogus });
      assert.notEqual(rolled.main.code, 0, 'a set without a whole manifest is never restored');
      assert.match(
        rolled.main.stdout,
        new RegExp(`backup set ${bogus}: no manifest.json .*nothing was changed`),
      );
      // Retention with keep 1 counts only whole sets and never deletes this one.
      const kept = await runWithPost({ ...inputs, command: 'backup', 'keep-backups': '1' });
      assert.equal(kept.main.code, 0, kept.main.stdout);
      assert.ok(existsSync(join(backups, bogus, 'env')), 'the invalid set is left for an operator');
    } finally {
      sh(`rm -rf ${backups}/${bogus}`);
    }
  });

  test("helper containers an interrupted run left are removed under the lock; another project's stay", async () => {
    // What a `docker run -d` cut short by a dropped connection leaves: a sleeping helper holding the
    // project's volumes. The second belongs to another project dir, whose lock this run does not hold.
    const helper = (name: string, projectDir: string) =>
      sh(
        `docker run -d --name ${name} --label eqmd-rollback.helper=x --label eqmd-rollback.project-dir=${projectDir} ` +
          `--network none -v eqmd-a_media_files:/m:ro --entrypoint sh ${h.image}:v1 -c 'sleep 600'`,
      );
    const exists = (name: string) => sh(`docker ps -aq --filter name=^${name}$`).trim() !== '';
    helper('eqmd-rollback-stray-a', a.projectDir);
    helper('eqmd-rollback-stray-other', '/srv/another-project');
    try {
      const { main: r } = await runWithPost({
        command: 'backup',
        ...connectionInputs(h, 'v2'),
        'project-dir': a.projectDir,
        'upload-artifact': 'false',
      });
      assert.equal(r.code, 0, r.stdout);
      assert.match(
        r.stdout,
        /::warning::removed 1 helper container\(s\) an interrupted run left: eqmd-rollback-stray-a/,
      );
      assert.equal(exists('eqmd-rollback-stray-a'), false);
      assert.equal(exists('eqmd-rollback-stray-other'), true, "another project's helper is not touched");
    } finally {
      sh('docker rm -f eqmd-rollback-stray-a eqmd-rollback-stray-other >/dev/null 2>&1 || true');
    }
  });
});
