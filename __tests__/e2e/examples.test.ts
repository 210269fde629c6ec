// The example workflows in examples/ run against the local test host: each step that uses the action is run
// by the built dist/index.js with the example's own `with:` inputs. Only the `${{ … }}` expressions are
// replaced, from a small explicit table per test (the repository's secrets and variables, `github.sha`,
// the dispatch inputs, earlier steps' outputs). The evaluator below knows only the expression shapes the
// examples use and throws on anything else, so an example cannot drift away from what is tested.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { startGitHubDouble, type DoubleDeployment } from '../../testhost/github-double.js';
import { startResultsDouble } from '../../testhost/results-double.js';
import {
  connectionInputs,
  key,
  recordCount,
  resetInstance,
  runAction,
  testHost,
  type ActionRun,
} from './harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ACTION = 'org/eqmd-rollback@v1';
const EXAMPLES = ['deploy.yml', 'smoke-rollback.yml', 'manual-rollback.yml'] as const;
type Example = (typeof EXAMPLES)[number];

const h = testHost();
const a = h.instances.a;
const healthUrl = a.healthUrl.replace('127.0.0.1', 'localhost'); // as seen from the host

/** What the repository's settings would hold, pointed at the test host's instance a. */
const SECRETS: Record<string, string> = {
  EQMD_HOST: h.ssh.host,
  EQMD_SSH_KEY: key(h.ssh.privateKeyPath),
};
const VARS: Record<string, string> = {
  EQMD_SSH_PORT: String(h.ssh.port),
  EQMD_SSH_USER: h.ssh.users.v2,
  EQMD_HOST_FINGERPRINT: h.ssh.fingerprint,
  EQMD_PROJECT_DIR: a.projectDir,
  EQMD_HEALTH_URL: healthUrl,
};

// ---------------------------------------------------------------------------------------------------------
// A tiny evaluator of GitHub expressions. Supported, with GitHub's semantics:
//   - property lookups: secrets.X, vars.X, github.X, inputs.X, steps.<id>.outputs.<name>
//     (names may hold '-'; an unset step output is '', every other unknown name throws)
//   - 'string' literals ('' escapes a quote)
//   - == and != between strings (case-insensitive, as GitHub compares strings)
//   - && and || (returning an operand, so `a && b || ''` works), parentheses
//   - the status functions success() and failure()
// Anything else (numbers, !, other functions, index syntax, other contexts) throws.
// ---------------------------------------------------------------------------------------------------------

type Value = string | boolean | null;

interface Contexts {
  secrets: Record<string, string>;
  vars: Record<string, string>;
  github: Record<string, string>;
  inputs: Record<string, string>;
  steps: Record<string, { outputs: Record<string, string> }>;
  /** An earlier step of the job failed. */
  failed: boolean;
}

const TOKEN = /\s*(?:(\(|\)|&&|\|\||==|!=)|'((?:[^']|'')*)'|([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)(\(\))?)/y;

type Token =
  | { kind: 'op'; op: string }
  | { kind: 'string'; value: string }
  | { kind: 'path'; path: string[] }
  | { kind: 'call'; name: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (expr.slice(TOKEN.lastIndex).trim()) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m) throw new Error(`unsupported expression syntax at ${JSON.stringify(expr.slice(at))} in: ${expr}`);
    const [, op, str, path, call] = m;
    if (op) tokens.push({ kind: 'op', op });
    else if (str !== undefined) tokens.push({ kind: 'string', value: str.replace(/''/g, "'") });
    else if (call) tokens.push({ kind: 'call', name: path! });
    else tokens.push({ kind: 'path', path: path!.split('.') });
  }
  return tokens;
}

function lookup(path: string[], c: Contexts): Value {
  const [root, ...rest] = path;
  const name = path.join('.');
  if (root === 'secrets' || root === 'vars' || root === 'github' || root === 'inputs') {
    const table = c[root];
    if (rest.length !== 1 || !(rest[0]! in table)) throw new Error(`${name} is not in the test's table`);
    return table[rest[0]!]!;
  }
  if (root === 'steps' && rest.length === 3 && rest[1] === 'outputs') {
    const step = c.steps[rest[0]!];
    if (!step) throw new Error(`${name}: no earlier step has id ${rest[0]}`);
    return step.outputs[rest[2]!] ?? '';
  }
  throw new Error(`unsupported context in expression: ${name}`);
}

const truthy = (v: Value): boolean => v !== null && v !== false && v !== '';

function evaluate(expr: string, c: Contexts): Value {
  const tokens = tokenize(expr);
  let i = 0;
  const peekOp = (op: string) => {
    const t = tokens[i];
    return t?.kind === 'op' && t.op === op;
  };
  const or = (): Value => {
    let left = and();
    while (peekOp('||')) {
      i++;
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = compare();
    while (peekOp('&&')) {
      i++;
      const right = compare();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const compare = (): Value => {
    const left = primary();
    if (!peekOp('==') && !peekOp('!=')) return left;
    const negate = peekOp('!=');
    i++;
    const right = primary();
    if (typeof left !== 'string' || typeof right !== 'string') {
      throw new Error(`== and != are supported between strings only, in: ${expr}`);
    }
    return (left.toLowerCase() === right.toLowerCase()) !== negate;
  };
  const primary = (): Value => {
    const t = tokens[i++];
    if (!t) throw new Error(`unexpected end of expression: ${expr}`);
    if (t.kind === 'string') return t.value;
    if (t.kind === 'path') return lookup(t.path, c);
    if (t.kind === 'call') {
      if (t.name === 'failure') return c.failed;
      if (t.name === 'success') return !c.failed;
      throw new Error(`unsupported function ${t.name}() in: ${expr}`);
    }
    if (t.op === '(') {
      const v = or();
      if (!peekOp(')')) throw new Error(`missing ) in: ${expr}`);
      i++;
      return v;
    }
    throw new Error(`unexpected ${t.op} in: ${expr}`);
  };
  const value = or();
  if (i !== tokens.length) throw new Error(`unsupported expression syntax after token ${i} in: ${expr}`);
  return value;
}

/** A `with:` value: every `${{ … }}` replaced by its value as text (null is ''). */
function interpolate(value: unknown, c: Contexts): string {
  if (typeof value !== 'string') return String(value);
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) => {
    const v = evaluate(expr, c);
    return v === null ? '' : String(v);
  });
}

/** A step's `if:`; as on GitHub, without a status function it means `success() && (…)`. */
function condition(value: unknown, c: Contexts): boolean {
  if (value === undefined) return !c.failed;
  if (typeof value === 'boolean') return value && !c.failed;
  assert.equal(typeof value, 'string', 'if: is a string or a boolean');
  let expr = (value as string).trim();
  const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(expr);
  if (whole) expr = whole[1]!;
  if (!/\b(?:success|failure|always|cancelled)\(\)/.test(expr)) expr = `success() && (${expr})`;
  return truthy(evaluate(expr, c));
}

// ---------------------------------------------------------------------------------------------------------
// A runner for one-job example workflows.
// ---------------------------------------------------------------------------------------------------------

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  with?: Record<string, unknown>;
  if?: unknown;
  run?: string;
}

interface WorkflowContext {
  /** `github.*` values, e.g. { sha: 'v2' }. */
  github?: Record<string, string>;
  /** workflow_dispatch inputs; unset ones take their declared default (or ''), as on GitHub. */
  inputs?: Record<string, string>;
  /** Stand-ins for `run:` steps, by step id: resolve true for success. The script itself is not run. */
  run?: Record<string, (script: string) => boolean | Promise<boolean>>;
}

interface StepResult {
  outcome: 'success' | 'failure' | 'skipped';
  /** The action's run, for `uses:` steps that ran. */
  action?: ActionRun;
  /** The inputs the action got (after substitution). */
  inputs?: Record<string, string>;
}

interface WorkflowRun {
  steps: Record<string, StepResult>;
  /** The job's conclusion. */
  failed: boolean;
  /** Artifacts the run uploaded. */
  artifacts: string[];
  /** Deployments recorded in the GitHub double (oldest first), statuses oldest first. */
  deployments: DoubleDeployment[];
  /** `text` of each message the notify webhook received. */
  messages: string[];
}

const STEP_KEYS = new Set(['id', 'name', 'uses', 'with', 'if', 'run']);
// `environment` gates the job and scopes its secrets on GitHub; here the secrets are handed in directly,
// as an approved job gets them (its shape is checked in 'the examples' below).
const JOB_KEYS = new Set([
  'runs-on',
  'concurrency',
  'permissions',
  'environment',
  'timeout-minutes',
  'steps',
]);

function readExample(file: Example): {
  name: string;
  on: Record<string, { inputs?: Record<string, DispatchInput> } | null>;
  jobs: Record<string, Record<string, unknown>>;
} {
  return parse(readFileSync(join(ROOT, 'examples', file), 'utf8'));
}

interface DispatchInput {
  type: string;
  options?: string[];
  default?: string;
  required?: boolean;
}

function dispatchInputs(
  file: Example,
  declared: Record<string, DispatchInput> | undefined,
  given: Record<string, string> | undefined,
): Record<string, string> {
  if (!given) return {};
  assert.ok(declared, `${file} has no workflow_dispatch inputs`);
  for (const name of Object.keys(given)) assert.ok(name in declared, `${file} declares no input ${name}`);
  return Object.fromEntries(
    Object.entries(declared).map(([name, d]) => {
      const value = given[name] ?? d.default ?? '';
      if (d.type === 'choice') assert.ok(d.options?.includes(value), `${name}: ${value} is not an option`);
      if (d.required) assert.notEqual(value, '', `${name} is required`);
      return [name, value];
    }),
  );
}

/** Runs the example's single job as a runner would: steps in order, `if:` honoured, then the post steps. */
async function runWorkflow(file: Example, ctx: WorkflowContext = {}): Promise<WorkflowRun> {
  const wf = readExample(file);
  const jobs = Object.values(wf.jobs);
  assert.equal(jobs.length, 1, `${file} has one job`);
  const job = jobs[0]!;
  for (const k of Object.keys(job)) assert.ok(JOB_KEYS.has(k), `${file}: job key ${k} is not simulated`);
  // timeout-minutes: the runner would cancel the job past it; here the run must finish well within.
  const deadline =
    Date.now() + Number((job as { 'timeout-minutes'?: number })['timeout-minutes'] ?? 360) * 60_000;

  // One workflow run: one results service (artifact names are unique per run), one run id, and a
  // GitHub API and webhook double that the reporting inputs reach (GITHUB_API_URL, the webhook secret).
  const double = await startResultsDouble();
  const gh = await startGitHubDouble();
  const c: Contexts = {
    secrets: { ...SECRETS, EQMD_NOTIFY_WEBHOOK: gh.webhookUrl },
    vars: { ...VARS, EQMD_URL: `${a.baseUrl}/` },
    github: { token: 'ghs_examplesJobToken0000000000000000', ...ctx.github },
    inputs: dispatchInputs(file, wf.on.workflow_dispatch?.inputs, ctx.inputs),
    steps: {},
    failed: false,
  };
  const env = {
    ...double.env(),
    GITHUB_API_URL: gh.apiUrl,
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_WORKFLOW: wf.name,
  };
  const results: Record<string, StepResult> = {};
  const ran: { inputs: Record<string, string>; dir: string }[] = [];
  try {
    for (const step of job.steps as Step[]) {
      for (const k of Object.keys(step))
        assert.ok(STEP_KEYS.has(k), `${file}: step key ${k} is not simulated`);
      const id = step.id;
      assert.ok(id, `${file}: every step has an id, so the test can address it (${step.name})`);
      let result: StepResult;
      if (!condition(step.if, c)) {
        result = { outcome: 'skipped' };
      } else if (step.uses !== undefined) {
        assert.equal(step.uses, ACTION, `${file}: step ${id} uses an action the test cannot run`);
        const inputs = Object.fromEntries(
          Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(v, c)]),
        );
        const action = await runAction(inputs, { env });
        ran.push({ inputs, dir: action.dir });
        result = { outcome: action.code === 0 ? 'success' : 'failure', action, inputs };
      } else {
        assert.equal(typeof step.run, 'string', `${file}: step ${id} has uses: or run:`);
        const stand = ctx.run?.[id];
        assert.ok(stand, `${file}: the test gives no stand-in for the run: step ${id}`);
        result = { outcome: (await stand(step.run!)) ? 'success' : 'failure' };
      }
      results[id] = result;
      c.steps[id] = { outputs: result.action?.outputs ?? {} };
      if (result.outcome === 'failure') c.failed = true;
    }
    // The runner runs the post steps at the end of the job, last step first.
    for (const r of ran.reverse()) {
      const post = await runAction(r.inputs, { env, dir: r.dir, post: true });
      assert.equal(post.code, 0, `post step: ${post.stdout}${post.stderr}`);
    }
    assert.ok(Date.now() < deadline, `${file}: the job ran past its timeout-minutes`);
    const artifacts = (await double.artifacts()).map((x) => x.name);
    const messages = gh.webhook.map((m) => (m.body as { text: string }).text);
    return { steps: results, failed: c.failed, artifacts, deployments: [...gh.deployments], messages };
  } finally {
    await double.close();
    await gh.close();
  }
}

/** Runs a static `run:` script as the runner's default bash shell would (for scripts with no `${{ }}`). */
function runScript(script: string): boolean {
  assert.doesNotMatch(script, /\$\{\{/, 'the script interpolates nothing');
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    encoding: 'utf8',
  });
  return r.status === 0;
}

/** A step that ran the action and succeeded; the action's log in the message otherwise. */
function succeeded(r: WorkflowRun, id: string): ActionRun {
  const s = r.steps[id];
  assert.ok(s?.action, `step ${id} ran the action (outcome: ${s?.outcome})`);
  assert.equal(s.outcome, 'success', `step ${id} succeeded:\n${s.action.stdout}${s.action.stderr}`);
  return s.action;
}

const env = () => readFileSync(join(a.projectDir, '.env'), 'utf8');
const version = () => fetch(`${a.baseUrl}/version/`).then((r) => r.text());
const health = () => fetch(a.healthUrl).then((r) => r.status);
const img = (tag: string) => `${h.image}:${tag}`;
const withImage = (text: string, tag: string) =>
  text.replace(`EQMD_IMAGE=${img('v1')}`, `EQMD_IMAGE=${img(tag)}`);
const SET_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
/** Each recorded deployment as [environment, description, its states oldest first]. */
const states = (r: WorkflowRun) =>
  r.deployments.map((d) => [d.environment, d.description, d.statuses.map((x) => x.state)] as const);

// ---------------------------------------------------------------------------------------------------------

describe('the evaluator', () => {
  const c: Contexts = {
    secrets: {},
    vars: { PORT: '' },
    github: {},
    inputs: { mode: 'Version', version: 'v1' },
    steps: { deploy: { outputs: { 'backup-id': 'x' } } },
    failed: false,
  };
  test('knows the shapes the examples use', () => {
    assert.equal(evaluate("inputs.mode == 'version' && inputs.version || ''", c), 'v1');
    assert.equal(evaluate("inputs.mode == 'backup-set' && inputs.version || ''", c), '');
    assert.equal(evaluate("vars.PORT || '22'", c), '22');
    assert.equal(evaluate("failure() && steps.deploy.outputs.backup-id != ''", c), false);
    assert.equal(evaluate("(inputs.mode != 'x') && steps.deploy.outputs.rolled-back != 'true'", c), true);
    assert.equal(interpolate("it's ${{ 'o''k' }}", c), "it's o'k");
  });
  test('throws on anything else', () => {
    for (const expr of [
      'always()',
      'vars.UNSET',
      'env.X',
      "inputs['mode']",
      '!inputs.mode',
      '22',
      'steps.x.outputs.y',
    ])
      assert.throws(() => evaluate(expr, c), Error, expr);
  });
});

describe('the examples', () => {
  // A runner warns about inputs the action does not declare, and the action never reads them.
  const DECLARED = (
    parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> }
  ).inputs;
  for (const file of EXAMPLES) {
    test(`${file}: one production change at a time, least privilege, a protected environment, no input in a shell line`, () => {
      const job = Object.values(readExample(file).jobs)[0]!;
      assert.deepEqual(job.concurrency, { group: 'eqmd-production', 'cancel-in-progress': false });
      assert.deepEqual(job.permissions, { contents: 'read', deployments: 'write' });
      // The key lives in a protected environment; the action alone writes the deployment record.
      assert.deepEqual(job.environment, { name: 'production', deployment: false });
      for (const step of job.steps as Step[]) {
        if (step.uses) assert.equal(step.uses, ACTION);
        for (const input of Object.keys(step.with ?? {}))
          assert.ok(
            input in DECLARED,
            `${file}: ${step.id} passes ${input}, which action.yml does not declare`,
          );
        if (step.run) assert.doesNotMatch(step.run, /\$\{\{/, `${file}: ${step.id} interpolates into run:`);
      }
    });
  }
});

// These share instance a: node:test runs the tests of a file one after another.
describe('the examples against the test host', () => {
  let pristine: string;
  before(() => {
    resetInstance('a');
    pristine = env();
  });

  test('deploy.yml deploys github.sha', async () => {
    // The instance is as before() left it: just reset.
    const r = await runWorkflow('deploy.yml', { github: { sha: 'v2' } });
    const deploy = succeeded(r, 'deploy');
    assert.equal(deploy.outputs['deployed-image'], img('v2'));
    assert.equal(deploy.outputs['previous-image'], img('v1'));
    assert.equal(deploy.outputs['rolled-back'], 'false');
    assert.equal(deploy.outputs.health, 'healthy');
    assert.match(deploy.outputs['backup-id'] ?? '', SET_ID);
    assert.equal(await version(), 'v2', '/version/ answers the deployed tag');
    assert.equal(env(), withImage(pristine, 'v2'), 'only the image line of the env file changed');
    assert.deepEqual(
      r.artifacts,
      [`eqmd-deploy-${deploy.outputs['backup-id']}`],
      'the manifest was uploaded',
    );
    assert.deepEqual(states(r), [['production', 'deploy v2', ['in_progress', 'success']]]);
    assert.equal(r.deployments[0]!.statuses.at(-1)!.environment_url, `${a.baseUrl}/`);
    assert.deepEqual(r.messages, [], 'a good deploy sends no message');
    assert.equal(r.failed, false);
  });

  test('smoke-rollback.yml: passing smoke tests keep the new release; the rollback step is skipped', async () => {
    resetInstance('a');
    const r = await runWorkflow('smoke-rollback.yml', {
      github: { sha: 'v2' },
      run: { smoke: async () => (await health()) === 200 && (await version()) === 'v2' },
    });
    succeeded(r, 'deploy');
    assert.equal(r.steps.smoke?.outcome, 'success');
    assert.equal(r.steps.rollback?.outcome, 'skipped');
    assert.equal(await version(), 'v2');
    assert.equal(r.failed, false);
  });

  test('smoke-rollback.yml: failing smoke tests roll the release back to the pre-deploy set', async () => {
    resetInstance('a');
    const rows = await recordCount(a);
    const r = await runWorkflow('smoke-rollback.yml', {
      github: { sha: 'v2' },
      run: {
        // The user's tests reach the new release, then fail on something only they check.
        smoke: async () => {
          assert.equal(await health(), 200, 'the smoke tests run against a healthy release');
          assert.equal(await version(), 'v2', 'the smoke tests run against the new release');
          return false;
        },
      },
    });
    const deploy = succeeded(r, 'deploy');
    assert.equal(r.steps.smoke?.outcome, 'failure');
    const rollback = succeeded(r, 'rollback');
    assert.equal(
      r.steps.rollback?.inputs?.['backup-id'],
      deploy.outputs['backup-id'],
      "the rollback got the deploy's backup-id",
    );
    assert.equal(await version(), 'v1', 'the previous release runs again');
    assert.equal(await health(), 200);
    assert.equal(env(), pristine, 'the env file is back, byte for byte');
    assert.equal(await recordCount(a), rows, 'every row is still there');
    assert.equal(rollback.outputs['rolled-back'], 'true');
    assert.equal(rollback.outputs.health, 'healthy');
    assert.equal(rollback.outputs['deployed-image'], img('v1'));
    assert.equal(rollback.outputs['previous-image'], img('v2'));
    assert.match(
      rollback.outputs['backup-id'] ?? '',
      SET_ID,
      'the rollback snapshotted the state it replaced',
    );
    assert.notEqual(rollback.outputs['backup-id'], deploy.outputs['backup-id']);
    assert.deepEqual(
      r.artifacts.sort(),
      [`eqmd-deploy-${deploy.outputs['backup-id']}`, `eqmd-rollback-${rollback.outputs['backup-id']}`],
      'both manifests were uploaded to the run',
    );
    assert.equal(r.failed, true, 'the job still fails: the release did not pass its tests');
    const [deployed, restored] = states(r);
    assert.deepEqual(deployed, ['production', 'deploy v2', ['in_progress', 'success', 'inactive']]);
    assert.equal(restored?.[0], 'production');
    assert.equal(restored?.[2].at(-1), 'success', 'the restored version is what the environment shows');
    assert.equal(r.messages.length, 1, 'the team is told about the rollback');
    assert.match(r.messages[0]!, /roll/i);
  });

  describe('manual-rollback.yml, after a deploy of v2', () => {
    let firstDeploy: ActionRun;
    before(async () => {
      resetInstance('a');
      firstDeploy = await runAction({
        command: 'deploy',
        ...connectionInputs(h, 'v2'),
        'project-dir': a.projectDir,
        'health-url': healthUrl,
        'upload-artifact': 'false',
        version: 'v2',
      });
      assert.equal(firstDeploy.code, 0, firstDeploy.stdout);
      assert.equal(await version(), 'v2');
    });

    test('inputs that do not match the mode are refused before the action runs', async () => {
      const mismatched: Record<string, string>[] = [
        { mode: 'version' },
        { mode: 'emergency', 'backup-id': '20261124T101530Z-3fa9c1' },
        { mode: 'emergency', scope: 'full' },
        { mode: 'backup-set', 'backup-id': '20261124T101530Z-3fa9c1', version: 'v5' },
      ];
      for (const inputs of mismatched) {
        const r = await runWorkflow('manual-rollback.yml', { inputs, run: { 'check-inputs': runScript } });
        assert.equal(r.steps['check-inputs']?.outcome, 'failure', JSON.stringify(inputs));
        assert.equal(r.steps.rollback?.outcome, 'skipped', JSON.stringify(inputs));
      }
      assert.equal(await version(), 'v2', 'nothing changed');
    });

    test('mode emergency: back to the newest set with another image (v1)', async () => {
      const r = await runWorkflow('manual-rollback.yml', { inputs: { mode: 'emergency' } });
      assert.equal(r.steps['check-inputs']?.outcome, 'skipped');
      const rollback = succeeded(r, 'rollback');
      assert.equal(r.steps.rollback?.inputs?.version, '', 'no version in emergency mode');
      assert.equal(r.steps.rollback?.inputs?.['backup-id'], '', 'no backup-id in emergency mode');
      assert.equal(await version(), 'v1');
      assert.equal(await health(), 200);
      assert.equal(env(), pristine, 'the env file is the pre-deploy one');
      assert.equal(rollback.outputs['previous-image'], img('v2'));
      assert.equal(rollback.outputs['deployed-image'], img('v1'));
      assert.equal(rollback.outputs['rolled-back'], 'true');
      assert.equal(rollback.outputs.health, 'healthy');
      assert.match(rollback.outputs['backup-id'] ?? '', SET_ID);
      // This run's double saw only the rollback: a deployment of what it restored, now live.
      assert.equal(states(r).length, 1);
      assert.deepEqual(states(r)[0]![2].at(-1), 'success');
      assert.equal(r.messages.length, 1, 'a rollback is announced');
    });

    test('mode version: to the named version (v5)', async () => {
      const r = await runWorkflow('manual-rollback.yml', { inputs: { mode: 'version', version: 'v5' } });
      const rollback = succeeded(r, 'rollback');
      assert.equal(r.steps.rollback?.inputs?.version, 'v5');
      assert.equal(await version(), 'v5');
      assert.equal(await health(), 200);
      assert.equal(env(), withImage(pristine, 'v5'), 'only the image line of the env file changed');
      assert.equal(rollback.outputs['previous-image'], img('v1'));
      assert.equal(rollback.outputs['deployed-image'], img('v5'));
      assert.equal(rollback.outputs.health, 'healthy');
    });

    test("mode backup-set: the first deploy's pre-deploy set, scope app (v1)", async () => {
      const id = firstDeploy.outputs['backup-id']!;
      assert.match(id, SET_ID);
      const r = await runWorkflow('manual-rollback.yml', {
        inputs: { mode: 'backup-set', 'backup-id': id, scope: 'app' },
      });
      const rollback = succeeded(r, 'rollback');
      assert.equal(r.steps.rollback?.inputs?.['backup-id'], id);
      assert.equal(r.steps.rollback?.inputs?.scope, 'app');
      assert.equal(await version(), 'v1');
      assert.equal(await health(), 200);
      assert.equal(env(), pristine, "the env file is the set's");
      assert.equal(rollback.outputs['previous-image'], img('v5'));
      assert.equal(rollback.outputs['deployed-image'], img('v1'));
      assert.equal(rollback.outputs.health, 'healthy');
    });
  });
});
