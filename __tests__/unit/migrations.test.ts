import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeployOptions } from '../../src/deploy/result.js';
import { RefusedError } from '../../src/errors.js';
import {
  classifyMigrations,
  classifyOperation,
  refusedBy,
  type MigrationClass,
  type MigrationReport,
  type MigrationFacts,
  type OperationFact,
} from '../../src/migrations/classify.js';
import { readMigrationFacts } from '../../src/migrations/read.js';
import { proveWayBack, rollbackPath, undoneWithoutLoss, withWayBack } from '../../src/migrations/way-back.js';
import { deploy } from '../../src/operations/deploy.js';
import { appContainer, type FakeHost, runClock, silentLog } from './fake-host.js';
import { SHA, settingsFor, sqliteHost } from './host-fixture.js';

const op = (o: string, reversible = true, extra: Partial<OperationFact> = {}): OperationFact => ({
  op: o,
  reversible,
  ...extra,
});

test('each operation has its class; unknown and irreversible are never called safe', () => {
  const table: [OperationFact, MigrationClass][] = [
    [op('CreateModel'), 'compatible'],
    [op('AddIndex'), 'compatible'],
    [op('RemoveIndex'), 'compatible'],
    [op('AlterModelOptions'), 'compatible'],
    [op('AddField', true, { null: true, dbDefault: false }), 'compatible'],
    [op('AddField', true, { null: false, dbDefault: true }), 'compatible'],
    [op('AddField', true, { null: false, dbDefault: false }), 'breaks-old-writes'],
    [op('AddConstraint'), 'breaks-old-writes'],
    [op('AlterUniqueTogether'), 'breaks-old-writes'],
    [op('RemoveField'), 'destructive'],
    [op('DeleteModel'), 'destructive'],
    [op('RenameField'), 'destructive'],
    [op('RenameModel'), 'destructive'],
    [op('AlterField', true, { null: true, dbDefault: false }), 'destructive'],
    [op('RunPython'), 'destructive'],
    [op('RunSQL'), 'destructive'],
    [op('SomethingNew'), 'destructive'],
    [op('RunPython', false), 'irreversible'],
    [op('RunSQL', false), 'irreversible'],
    [op('CreateModel', false), 'irreversible'],
  ];
  for (const [o, want] of table) assert.equal(classifyOperation(o), want, JSON.stringify(o));
});

const facts: MigrationFacts = {
  vendor: 'sqlite',
  applied: { records: ['0001_initial'] },
  plan: [
    { app: 'records', name: '0002_patient_ward', operations: [op('AddField', true, { null: true })] },
    { app: 'records', name: '0003_remove_patient_notes', operations: [op('RemoveField')] },
    { app: 'records', name: '0004_half', operations: [op('CreateModel'), op('RunPython', false)] },
    { app: 'records', name: '0005_empty', operations: [] },
  ],
  back: [
    { app: 'records', name: '0005_empty', reversible: true },
    { app: 'records', name: '0004_half', reversible: false },
    { app: 'records', name: '0003_remove_patient_notes', reversible: true },
    { app: 'records', name: '0002_patient_ward', reversible: true },
  ],
};

test('a migration takes its worst operation, the release its worst migration; policies refuse by class', () => {
  const r = classifyMigrations(facts);
  assert.deepEqual(
    r.pending.map((m) => m.class),
    ['compatible', 'destructive', 'irreversible', 'none'],
  );
  assert.equal(r.class, 'irreversible');
  assert.deepEqual(r.applied, { records: ['0001_initial'] });
  assert.equal(classifyMigrations({ ...facts, plan: [] }).class, 'none');
  assert.deepEqual(refusedBy('allow', r), []);
  assert.deepEqual(
    refusedBy('refuse-irreversible', r).map((m) => m.name),
    ['0004_half'],
  );
  assert.deepEqual(
    refusedBy('refuse-destructive', r).map((m) => m.name),
    ['0003_remove_patient_notes', '0004_half'],
  );
});

const line = (x: unknown) => `Creating network...\neqmd-migrations=${JSON.stringify(x)}\n`;

test('undone without losing a record: accept/reject table (renames yes, removals and rewrites no)', () => {
  const release = (...ops: OperationFact[][]): MigrationReport =>
    classifyMigrations({
      vendor: 'sqlite',
      applied: { records: ['0002_patient_ward'] },
      plan: ops.map((o, i) => ({ app: 'records', name: `000${i + 3}_x`, operations: o })),
      back: [],
    });
  const table: [string, MigrationReport, boolean][] = [
    ['a nullable column (kept, nothing to undo)', release([op('AddField', true, { null: true })]), false],
    ['a NOT NULL column without default', release([op('AddField', true, { null: false })]), true],
    ['a new table and an index (kept)', release([op('CreateModel'), op('AddIndex')]), false],
    ['a renamed field', release([op('RenameField')]), true],
    ['a renamed model, then a renamed table', release([op('RenameModel')], [op('AlterModelTable')]), true],
    ['a renamed index', release([op('RenameIndex')]), true],
    [
      'a rename beside a nullable column',
      release([op('RenameField'), op('AddField', true, { null: true })]),
      true,
    ],
    ['nothing to apply', release(), false],
    ['a removed field', release([op('RemoveField')]), false],
    ['a rename beside a removal', release([op('RenameField')], [op('RemoveField')]), false],
    ['a changed field', release([op('AlterField', true, { null: true })]), false],
    ['a data migration with a reverse', release([op('RunPython')]), false],
    ['a rename Django cannot reverse', release([op('RenameField', false)]), false],
    ['an operation nobody knows', release([op('SomethingNew')]), false],
  ];
  for (const [why, r, want] of table) assert.equal(undoneWithoutLoss(r), want, why);
  // A record read back from the host that contradicts itself is not trusted.
  const renamed = release([op('RenameField')]);
  const forged = (over: Partial<MigrationReport>): MigrationReport => ({ ...renamed, ...over });
  const m = renamed.pending[0]!;
  assert.equal(undoneWithoutLoss(forged({ class: 'compatible' })), false, 'report class below its worst');
  assert.equal(
    undoneWithoutLoss(forged({ pending: [{ ...m, class: 'compatible' }] })),
    false,
    'migration class below its worst operation',
  );
  assert.equal(
    undoneWithoutLoss(
      forged({ class: 'compatible', pending: [{ ...m, class: 'compatible', operations: [] }] }),
    ),
    false,
    'a compatible migration with no operation',
  );
});

test('the way back is proven from the image’s graph: accept/reject table', () => {
  const plan = [
    { app: 'records', name: '0003_a', operations: [op('RenameField')] },
    { app: 'records', name: '0004_b', operations: [op('AddField', true, { null: true })] },
  ];
  const back = [
    { app: 'records', name: '0004_b', reversible: true },
    { app: 'records', name: '0003_a', reversible: true },
  ];
  const f = (over: Partial<MigrationFacts>): MigrationFacts => ({
    vendor: 'postgresql',
    applied: { records: ['0002_patient_ward'] },
    plan,
    back,
    ...over,
  });
  assert.deepEqual(proveWayBack(f({})), {
    proven: true,
    why: 'the way back undoes exactly records.0004_b, records.0003_a, each reversible',
  });
  const rejects: [string, MigrationFacts, RegExp][] = [
    [
      'one more: an older migration would go too',
      f({ back: [...back, { app: 'records', name: '0002_patient_ward', reversible: true }] }),
      /^migrating back would also undo records\.0002_patient_ward, applied before this release$/,
    ],
    ['one missing', f({ back: back.slice(0, 1) }), /^the way back does not undo records\.0003_a$/],
    [
      'one Django cannot reverse',
      f({ back: [back[0]!, { ...back[1]!, reversible: false }] }),
      /^Django cannot reverse records\.0003_a$/,
    ],
    [
      'two applied leaves',
      f({ applied: { records: ['0002_a', '0002_b'] } }),
      /^records has 2 applied leaves, no single state to return to/,
    ],
  ];
  for (const [why, facts, want] of rejects) {
    const r = proveWayBack(facts);
    assert.equal(r.proven, false, why);
    assert.match(r.why, want, why);
  }
  // A release proven lossless is migrated back; the same classes with an unproven way back are restored.
  const proven = withWayBack(classifyMigrations(f({})), f({}));
  assert.equal(rollbackPath(proven).path, 'migrate-back');
  assert.match(rollbackPath(proven).why, /^the way back undoes exactly/);
  const unproven = withWayBack(classifyMigrations(f({ back: [] })), f({ back: [] }));
  assert.equal(unproven.reverse?.proven, false);
  assert.deepEqual(rollbackPath(unproven), {
    path: 'restore',
    why: 'the way back was not proven before the deploy: the way back does not undo records.0003_a, records.0004_b',
  });
  assert.equal(withWayBack(classifyMigrations(f({ plan: [], back: [] })), f({})).reverse, undefined);
  assert.equal(rollbackPath(classifyMigrations(f({ plan: [], back: [] }))).path, 'keep');
  // Only compatible migrations: kept as they are, the previous version runs on that schema.
  const added = f({ plan: [{ app: 'records', name: '0003_a', operations: [op('CreateModel')] }] });
  assert.deepEqual(rollbackPath(withWayBack(classifyMigrations(added), added)), {
    path: 'keep',
    why: 'its migrations only add what the previous version does not use: it runs on this schema, every record and value kept',
  });
});

test('the facts line is read like any data from the host: accept/reject table', () => {
  assert.deepEqual(readMigrationFacts(line(facts)), { ok: true, facts });
  const withUnknown = { ...facts, unknown: [{ app: 'records', name: '0003_patient_priority' }] };
  assert.deepEqual(readMigrationFacts(line(withUnknown)), { ok: true, facts: withUnknown });
  const rejects: [string, RegExp][] = [
    ['nothing printed\n', /printed no migration facts/],
    ['eqmd-migrations={not json\n', /not JSON/],
    [line({ ...facts, vendor: 'sqlite; rm -rf /' }), /malformed at vendor/],
    [line({ ...facts, applied: { __proto__x: ['0001'] } }), /malformed at applied/],
    [line({ ...facts, applied: JSON.parse('{"__proto__": ["0001_initial"]}') }), /a __proto__ key/],
    [
      line({ ...facts, plan: [{ app: 'records', name: '../../etc', operations: [] }] }),
      /malformed at plan\.0\.name/,
    ],
    [
      line({ ...facts, plan: [{ app: 'records', name: '0002', operations: [{ op: 'AddField' }] }] }),
      /malformed/,
    ],
    [line({ ...facts, extra: 1 }), /malformed/],
    [line({ ...facts, back: undefined }), /malformed at back/],
    [
      line({ ...facts, back: [{ app: 'records', name: '0002; DROP', reversible: true }] }),
      /malformed at back\.0\.name/,
    ],
    [
      line({ ...facts, back: [{ app: 'records', name: '0002', reversible: 'yes' }] }),
      /malformed at back\.0\.reversible/,
    ],
    [line({ ...facts, unknown: [{ app: 'records', name: '0003 x' }] }), /malformed at unknown\.0\.name/],
    [line({ ...facts, unknown: { app: 'records' } }), /malformed at unknown/],
    [
      line({ ...facts, unknown: Array.from({ length: 2001 }, () => ({ app: 'a', name: 'b' })) }),
      /malformed at unknown/,
    ],
  ];
  for (const [out, why] of rejects) {
    const r = readMigrationFacts(out);
    assert.equal(r.ok, false, out);
    assert.match(r.ok ? '' : r.why, why, out);
  }
});

const opts = (): DeployOptions => ({
  ...runClock('2026-11-24T10:16:10Z'),
  toolVersion: '0.1.0',
});
function hostPrinting(out: string | null): FakeHost {
  const host = sqliteHost();
  host.docker.serviceContainers = async (_project, service) => (service === 'eqmd' ? [appContainer] : []);
  host.on(
    /manage\.py shell -c/,
    out === null ? { code: 1, stderr: 'Traceback: secret app detail' } : { stdout: out },
  );
  return host;
}
const switched = (h: FakeHost) => h.ran(/mapfile -t lines/) || h.ran(/up -d --no-deps/);
const backedUp = (h: FakeHost) => h.ran(/mkdir .*\.tmp-/);

test('migration-policy refuses before the backup and the switch, naming the migrations', async () => {
  const host = hostPrinting(line(facts));
  await assert.rejects(
    deploy(
      host,
      settingsFor('deploy', { version: 'v3', 'migration-policy': 'refuse-destructive' }),
      silentLog(),
      opts(),
    ),
    (e: unknown) =>
      e instanceof RefusedError &&
      /migration-policy refuse-destructive refuses registry\.local\/eqmd:v3: records\.0003_remove_patient_notes \(destructive: RemoveField\); records\.0004_half \(irreversible: CreateModel, RunPython\); nothing was changed/.test(
        e.message,
      ),
  );
  assert.ok(host.ran(/docker pull/), 'classified after the pull');
  assert.equal(backedUp(host), false);
  assert.equal(switched(host), false);
});

test('a release that cannot be classified: refused under a policy, deployed with a warning under allow; its output is not repeated', async () => {
  const refused = hostPrinting(null);
  await assert.rejects(
    deploy(
      refused,
      settingsFor('deploy', { version: 'v3', 'migration-policy': 'refuse-irreversible' }),
      silentLog(),
      opts(),
    ),
    (e: unknown) =>
      e instanceof RefusedError &&
      /could not be classified \(its Django could not list them \(exit 1\)\)/.test(e.message) &&
      !/secret app detail/.test(e.message),
  );
  assert.equal(switched(refused), false);
  const allowed = hostPrinting(null);
  const log = silentLog();
  const r = await deploy(allowed, settingsFor('deploy', { version: 'v3' }), log, opts());
  assert.ok(!r.dryRun && r.ok && r.migrations === null);
  assert.ok(log.lines.some((l) => /^warning: the migrations of .* could not be classified/.test(l)));
  assert.ok(!log.lines.some((l) => /secret app detail/.test(l)));
});

test('the pre-deploy manifest records the classification and each app’s applied state', async () => {
  const host = hostPrinting(line({ ...facts, plan: facts.plan.slice(0, 1) }));
  const r = await deploy(
    host,
    settingsFor('deploy', { version: 'v2', 'migration-policy': 'refuse-destructive' }),
    silentLog(),
    opts(),
  );
  assert.ok(!r.dryRun && r.ok);
  assert.equal(r.migrations?.class, 'compatible');
  assert.deepEqual(r.preDeploy.manifest.migrations, r.migrations);
  const written = host.commands.find((c) => c.stdin?.includes('"migrations"'));
  assert.ok(written, 'the manifest sent to the host carries it');
  assert.deepEqual(JSON.parse(written.stdin!).migrations.applied, { records: ['0001_initial'] });
});

test('no database, no classification step', async () => {
  const host = hostPrinting(line(facts));
  // The set holds what the backup wrote: no database file, no archive.
  host.on(/sha256sum < "\$f"/, { stdout: `file=10=${SHA}=compose.yml\nfile=20=${SHA}=env\n` });
  await deploy(
    host,
    settingsFor('deploy', {
      version: 'v3',
      database: 'none',
      volumes: 'none',
      'migration-policy': 'refuse-destructive',
    }),
    silentLog(),
    opts(),
  );
  assert.equal(host.ran(/manage\.py shell -c/), false);
});

test(
  'under allow the classification runs beside the backup, the manifest still records it, and its log comes in one piece',
  { timeout: 5000 },
  async () => {
    const host = hostPrinting(line({ ...facts, plan: facts.plan.slice(0, 1) }));
    // The classification answers only once the database copy has started: run one after the other,
    // this deploy would never finish (the timeout fails the test).
    let copyStarted = () => {};
    const copying = new Promise<void>((resolve) => (copyStarted = resolve));
    const exec = host.exec.bind(host);
    host.exec = async (command, o) => {
      if (/src\.backup\(dst\)/.test(command)) copyStarted();
      if (/manage\.py shell -c/.test(command)) await copying;
      return exec(command, o);
    };
    const said: string[] = [];
    const log = {
      ...silentLog(),
      info: (m: string) => void said.push(m),
      group: async <T>(title: string, fn: () => Promise<T>) => {
        said.push(`group ${title}`);
        try {
          return await fn();
        } finally {
          said.push(`end ${title}`);
        }
      },
    };
    const r = await deploy(host, settingsFor('deploy', { version: 'v2' }), log, opts());
    assert.ok(!r.dryRun && r.ok);
    assert.equal(r.migrations?.class, 'compatible');
    assert.deepEqual(r.preDeploy.manifest.migrations, r.migrations);
    // Groups never interleave: each ends before the next begins.
    let open = '';
    for (const line of said) {
      if (line.startsWith('group ')) {
        assert.equal(open, '', `${line} opened inside ${open}`);
        open = line.slice(6);
      } else if (line.startsWith('end ')) open = '';
    }
    const classified = said.findIndex((l) => /^group Classify the migrations/.test(l));
    assert.ok(classified > said.findIndex((l) => /^group Copy the SQLite database/.test(l)), said.join('\n'));
  },
);
