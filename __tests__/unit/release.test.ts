import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';

/** What adopting the action rests on: pinned workflow actions, a release that cannot skip its checks. */

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, { steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] }>;
}
const workflows = readdirSync(new URL('.github/workflows/', root)).map((f) => ({
  f,
  w: parseYaml(read(`.github/workflows/${f}`)) as Workflow,
}));
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);

test('every workflow action is the repository itself or pinned to a commit; checkouts keep no credentials', () => {
  for (const { f, w } of workflows)
    for (const s of steps(w)) {
      if (!s.uses) continue;
      assert.match(s.uses, /^(\.\/|[\w.-]+\/[\w.-]+@[0-9a-f]{40}$)/, `${f}: ${s.uses}`);
      if (s.uses.startsWith('actions/checkout@'))
        assert.equal(s.with?.['persist-credentials'], false, `${f}: checkout persists credentials`);
    }
});

test('the release workflow runs on version tags, checks dist/ and the tests, then releases and moves the major tag', () => {
  const r = workflows.find((x) => x.f === 'release.yml')?.w;
  assert.ok(r, 'release.yml exists');
  assert.deepEqual(r.on, { push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } });
  assert.equal(r.permissions?.contents, 'write');
  const runs = steps(r).map((s) => s.run ?? '');
  const at = (re: RegExp) => runs.findIndex((x) => re.test(x));
  const order = [
    at(/package\.json/),
    at(/git status --porcelain -- dist/),
    at(/npm run test:unit/),
    at(/changelog-section\.sh/),
    at(/gh release create/),
    at(/refs\/tags\/\$major/),
  ];
  assert.ok(
    order.every((i) => i >= 0),
    `every step is there: ${order}`,
  );
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    'in this order',
  );
});

test('release notes: the changelog section of a version, and a failure when there is none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqmd-changelog-'));
  const file = join(dir, 'CHANGELOG.md');
  writeFileSync(
    file,
    '# Changelog\n\n## [Unreleased]\n\n- next\n\n## [1.2.0] - 2026-12-01\n\n### Fixed\n- a thing\n\n## [1.1.0] - 2026-11-01\n\n- older\n',
  );
  const run = (v: string) =>
    spawnSync('bash', [new URL('scripts/changelog-section.sh', root).pathname, v, file], {
      encoding: 'utf8',
    });
  const ok = run('1.2.0');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, '### Fixed\n- a thing\n\n');
  const missing = run('1.3.0');
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /no section ## \[1\.3\.0\]/);
  // The project's own changelog has the version package.json names.
  const version = (JSON.parse(read('package.json')) as { version: string }).version;
  const own = spawnSync('bash', ['scripts/changelog-section.sh', version], {
    cwd: root.pathname,
    encoding: 'utf8',
  });
  assert.equal(own.status, 0, `CHANGELOG.md has no section for ${version}`);
});

test('LICENSE is the MIT licence package.json declares; SECURITY.md says how to report privately', () => {
  assert.equal((JSON.parse(read('package.json')) as { license: string }).license, 'MIT');
  assert.match(read('LICENSE'), /^MIT License\n/);
  assert.match(read('SECURITY.md'), /Report a vulnerability/);
});

test('the examples: every job has a protected environment, one concurrency group per host and a timeout', () => {
  for (const f of readdirSync(new URL('examples/', root)).filter((x) => x.endsWith('.yml'))) {
    const w = parseYaml(read(`examples/${f}`)) as {
      jobs: Record<
        string,
        { environment?: unknown; concurrency?: { group?: string }; 'timeout-minutes'?: number }
      >;
    };
    for (const [name, job] of Object.entries(w.jobs)) {
      assert.ok(job.environment, `${f} ${name}: environment`);
      assert.match(String(job.concurrency?.group ?? ''), /\S/, `${f} ${name}: concurrency group`);
      assert.ok(
        (job['timeout-minutes'] ?? 0) > 0 && job['timeout-minutes']! <= 60,
        `${f} ${name}: timeout-minutes`,
      );
    }
  }
});
