import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Manifest } from '../../src/manifest.js';
import { isImageReference, isSshAddress } from '../../src/manifest-grammar.js';
import { parseManifest, validateManifest } from '../../src/manifest-read.js';
import { validManifest } from './manifest-fixture.js';

/**
 * A manifest is host data: every field is validated like an input. Each row below changes one field
 * of a valid manifest to what an attacker with write access to the set would write; the set must be
 * refused naming that field, and the problem must not repeat what was written.
 */

const MARKER = 'PWNED-MARKER';
const base = (): Manifest => validManifest({ created: '2026-11-24T10:15:30Z' });
type Edit = (m: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

const rejected: [string, string, Edit][] = [
  ['image.reference', 'sed e-flag payload', (m) => (m.image.reference = `x/y:v1|e touch /tmp/${MARKER}|`)],
  ['image.reference', 'command substitution', (m) => (m.image.reference = `eqmd:v1$(touch ${MARKER})`)],
  ['image.reference', 'option-looking', (m) => (m.image.reference = '--privileged')],
  ['image.envValue', 'newline and workflow command', (m) => (m.image.envValue = `a\n::error::${MARKER}`)],
  ['image.variable', 'assignment payload', (m) => (m.image.variable = `A=B;touch ${MARKER}`)],
  [
    'image.backupTag',
    'a foreign tag',
    (m) => (m.image.backupTag = 'eqmd-rollback/other:20261124T101530Z-abcdef'),
  ],
  ['image.backupTag', 'a release tag', (m) => (m.image.backupTag = '127.0.0.1:5000/eqmd:v1')],
  ['image.id', 'not an id', (m) => (m.image.id = 'sha256:../../etc')],
  ['image.repoDigests.0', 'not a digest', (m) => (m.image.repoDigests = [`$(touch ${MARKER})`])],
  ['files.0.path', 'traversal', (m) => (m.files[0].path = '../../../etc/passwd')],
  ['files.0.path', 'volume traversal', (m) => (m.files[0].path = 'volumes/../../x.tar')],
  ['files.0.path', 'absolute', (m) => (m.files[0].path = '/etc/shadow')],
  ['files.0.sha256', 'not hex', (m) => (m.files[0].sha256 = `zz ${MARKER}`)],
  ['files.0.bytes', 'huge', (m) => (m.files[0].bytes = 1e300)],
  ['files.0.bytes', 'negative', (m) => (m.files[0].bytes = -1)],
  ['files.0.bytes', 'fraction', (m) => (m.files[0].bytes = 1.5)],
  ['files', 'a role that does not fit the path', (m) => (m.files[0].role = 'database')],
  ['files', 'listed twice', (m) => m.files.push({ ...m.files[0] })],
  ['files', 'no env file', (m) => (m.files = m.files.filter((f: { path: string }) => f.path !== 'env'))],
  [
    'files',
    'the database file unlisted',
    (m) => (m.files = m.files.filter((f: { path: string }) => f.path !== 'database.sqlite3')),
  ],
  ['volumes.0.entries', 'a command', (m) => (m.volumes[0].entries = `1 ]; touch ${MARKER}; [ 1`)],
  ['volumes.0.entries', 'beyond safe integers', (m) => (m.volumes[0].entries = 2 ** 60)],
  ['volumes.0.name', 'option-looking', (m) => (m.volumes[0].name = '-rf')],
  ['volumes', 'a file of another volume', (m) => (m.volumes[0].file = 'volumes/other.tar')],
  ['volumes.0.mountpoint', 'traversal', (m) => (m.volumes[0].mountpoint = '/app/../../etc')],
  ['database.file', 'another file', (m) => (m.database.file = '../db.sqlite3')],
  ['database.source', 'relative', (m) => (m.database.source = 'db.sqlite3')],
  [
    'database.tables.(a key)',
    'an SQL payload as a table',
    (m) => (m.database.tables = { [`x"; DROP TABLE y; --`]: 1 }),
  ],
  ['database.kind', 'unknown kind', (m) => (m.database.kind = 'mysql')],
  ['reason', 'not a reason', (m) => (m.reason = `pre-deploy\n::error::${MARKER}`)],
  ['created', 'before the second the id was made', (m) => (m.created = '2026-11-24T10:15:29.999Z')],
  ['created', 'an hour after the id', (m) => (m.created = '2026-11-24T11:15:30Z')],
  ['created', 'a year after the id', (m) => (m.created = '2027-11-24T10:15:30Z')],
  ['created', 'not a time', (m) => (m.created = `x\n::add-mask::${MARKER}`)],
  ['project', 'not a compose project', (m) => (m.project = 'Eqmd A')],
  ['projectDir', 'traversal', (m) => (m.projectDir = '/srv/../etc')],
  ['service', 'payload', (m) => (m.service = `eqmd;touch ${MARKER}`)],
  ['composeFlavor', 'unknown', (m) => (m.composeFlavor = 'v3')],
  ['restoreTarget', 'traversal', (m) => (m.restoreTarget = '../x')],
  ['rollbackMode', 'not a mode', (m) => (m.rollbackMode = `version\n::error::${MARKER}`)],
  ['run.event', 'a payload', (m) => (m.run.event = `workflow_dispatch; touch ${MARKER}`)],
  ['run.event', 'upper case', (m) => (m.run.event = 'WORKFLOW_DISPATCH')],
  ['totalBytes', 'not the sum', (m) => (m.totalBytes = 1)],
  ['checks.0.detail', 'a line break', (m) => (m.checks[0].detail = `ok\n::stop-commands::${MARKER}`)],
  ['tool.name', 'another tool', (m) => (m.tool.name = 'evil')],
  ['schema', 'another schema', (m) => (m.schema = 'eqmd-rollback/manifest@9')],
  ['host.address', 'payload', (m) => (m.host.address = `$(touch ${MARKER})`)],
  ['run.actor', 'a line break', (m) => (m.run.actor = `me\n::error::${MARKER}`)],
  ['verified', 'a string', (m) => (m.verified = 'true')],
  [
    'migrations.reverse.why',
    'a workflow command',
    (m) => (m.migrations = withReverse(`x ::error:: ${MARKER}`)),
  ],
  ['migrations.reverse.why', 'a line break', (m) => (m.migrations = withReverse(`x\n${MARKER}`))],
  ['migrations.reverse.why', 'a quote', (m) => (m.migrations = withReverse(`x"${MARKER}`))],
  [
    'migrations.reverse.proven',
    'a string',
    (m) => (m.migrations = { ...withReverse('x'), reverse: { proven: 'yes', why: 'x' } }),
  ],
];

/** A classification with the proof of its way back, as a deploy records it. */
function withReverse(why: string) {
  return {
    class: 'destructive',
    applied: { records: ['0002_patient_ward'] },
    pending: [
      {
        app: 'records',
        name: '0003_rename_patient_ward_unit',
        class: 'destructive',
        operations: [{ op: 'RenameField', class: 'destructive' }],
      },
    ],
    reverse: { proven: true, why },
  };
}

test('a valid manifest passes; the output is the manifest', () => {
  const m = base();
  const r = validateManifest(JSON.parse(JSON.stringify(m)));
  assert.ok(r.ok, r.ok ? '' : r.problem);
  assert.deepEqual(r.manifest, m);
  // Variants that are valid too: PostgreSQL, no database, no volumes, a restore target, an image id.
  const pg = base() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  pg.database = {
    kind: 'postgres',
    via: 'database-url',
    source: 'postgres://eqmd@127.0.0.1:5432/eqmd_c',
    file: 'database.dump',
    integrity: 'pg_restore read the whole dump',
    schemaFingerprint: 'c'.repeat(64),
    tables: { 'public.records_patient': 50 },
  };
  pg.files = pg.files.map((f: { path: string }) =>
    f.path === 'database.sqlite3' ? { ...f, path: 'database.dump' } : f,
  );
  pg.restoreTarget = '20261120T000000Z-000001';
  pg.rollbackMode = 'backup-set';
  pg.run.event = 'workflow_dispatch';
  pg.image.reference = `sha256:${'d'.repeat(64)}`;
  assert.deepEqual(validateManifest(pg), { ok: true, manifest: pg });
  const none = base() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  none.database = { kind: 'none' };
  none.volumes = [];
  none.files = none.files.filter((f: { role: string }) => f.role !== 'database' && f.role !== 'volume');
  none.totalBytes = none.files.reduce((a: number, f: { bytes: number }) => a + f.bytes, 0);
  assert.ok(validateManifest(none).ok);
  // A classification with the proof of its way back (recorded since 1.2.0; older sets have none).
  const proven = base() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  proven.migrations = withReverse(
    'the way back undoes exactly records.0003_rename_patient_ward_unit, each reversible',
  );
  assert.deepEqual(validateManifest(proven), { ok: true, manifest: proven });
  // A snapshot is taken after the service stopped, seconds after its id was made (its plan); a long
  // wait for a stop stays within the hour.
  for (const created of [
    '2026-11-24T10:15:30.999Z',
    '2026-11-24T10:15:33.250Z',
    '2026-11-24T11:15:29.999Z',
  ]) {
    const later = { ...base(), created };
    assert.deepEqual(validateManifest(later), { ok: true, manifest: later }, created);
  }
  // A set made before the event was recorded reads as no operator's run.
  const older = base() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  delete older.run.event;
  const read = validateManifest(older);
  assert.ok(read.ok && read.manifest.run.event === '');
});

test('each tampered field is refused, naming the field and never repeating the value', () => {
  for (const [field, what, edit] of rejected) {
    const m = JSON.parse(JSON.stringify(base()));
    edit(m);
    const r = validateManifest(m);
    assert.equal(r.ok, false, `${field} (${what}) must be refused`);
    if (r.ok) continue;
    assert.ok(r.problem.startsWith(`manifest field ${field}:`), `${field} (${what}): got "${r.problem}"`);
    assert.ok(!r.problem.includes(MARKER) && !r.problem.includes('\n'), `${field}: ${r.problem}`);
  }
});

test('parseManifest: the id must be the directory it is in; unreadable text is a problem, not a crash', () => {
  const m = base();
  assert.equal(parseManifest(m.id, JSON.stringify(m)).ok, true);
  const moved = parseManifest('20261124T101530Z-000000', JSON.stringify(m));
  assert.deepEqual(moved, {
    dir: '20261124T101530Z-000000',
    ok: false,
    problem: 'manifest field id does not match its directory',
  });
  for (const text of ['', '{', 'null', '[]', '"x"', JSON.stringify({ ...m, files: null })])
    assert.equal(parseManifest(m.id, text).ok, false, text);
  // A directory named to read as a workflow command is never repeated.
  const odd = parseManifest(`x\n::error::${MARKER}`, '');
  assert.equal(odd.dir, '(a directory with an unexpected name)');
});

test('host addresses: user@host:port as the transport names it', () => {
  for (const a of ['deploy@127.0.0.1:2222', 'deploy@eqmd.example.org:22', 'ci_user@::1:22', 'u@h:65535'])
    assert.equal(isSshAddress(a), true, a);
  for (const a of [
    '127.0.0.1',
    'deploy@127.0.0.1',
    '@h:22',
    'u@h:65536',
    'u@h:22;id',
    'u@$(id):22',
    '-u@h:22',
    'u@h :22',
  ])
    assert.equal(isSshAddress(a), false, a);
});

test('image references: Docker grammar accepted, anything a shell could read refused', () => {
  const accept = [
    '127.0.0.1:5000/eqmd:v1',
    'ghcr.io/org/eqmd:2.1.0',
    'eqmd',
    'org/eqmd@sha256:' + 'a'.repeat(64),
    'localhost:5000/a/b:v1@sha256:' + 'b'.repeat(64),
    'sha256:' + 'c'.repeat(64),
  ];
  const reject = [
    '',
    'Eqmd:v1',
    'eqmd:v1;reboot',
    'eqmd:-v1',
    'eqmd:v1 extra',
    'eqmd@sha256:short',
    'a@sha256:' + 'a'.repeat(64) + '@sha256:' + 'a'.repeat(64),
    'eqmd:' + 'v'.repeat(129),
    '$(id)',
    '../eqmd',
  ];
  for (const r of accept) assert.equal(isImageReference(r), true, r);
  for (const r of reject) assert.equal(isImageReference(r), false, r);
});
