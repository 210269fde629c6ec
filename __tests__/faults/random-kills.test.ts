import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  addRecord,
  resetInstance,
  runAction,
  servedVersion,
  testHost,
  type Instance,
} from '../e2e/harness.js';
import { ROLLED_AWAY_REASONS } from '../../src/manifest.js';
import { RESULTS_DIR, type RandomTally } from './fault.js';
import {
  cutConnectionOf,
  healthStatus,
  helperContainers,
  liveNames,
  lockHeld,
  runningAppContainers,
  setNames,
  invalidSetsOf,
  setProblems,
  setsOf,
  sleep,
  tempSetsOf,
  instanceInputs,
  versionTagProblems,
} from './inject.js';

/**
 * Kill at random points: the action's process (SIGKILL, a cancelled or lost runner) or its SSH
 * connection (sshd killed) at a random moment of a backup, deploy or rollback; then the post step and
 * a re-run (the same workflow run, next attempt), as GitHub sequences them. After every iteration the
 * invariants of RELIABILITY.md are checked on the real host. Bounded by FAULTS_RANDOM_ITERATIONS and
 * FAULTS_RANDOM_MINUTES; FAULTS_SEED replays a sequence.
 */
const h = testHost();
const { a, b } = h.instances;
const MAX_ITERATIONS = Number(process.env.FAULTS_RANDOM_ITERATIONS ?? 200);
const MAX_MS = Number(process.env.FAULTS_RANDOM_MINUTES ?? 10) * 60_000;
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op = 'backup' | 'deploy good' | 'deploy broken' | 'emergency rollback' | 'rollback to a set';
const OPS: Op[] = ['backup', 'deploy good', 'deploy broken', 'emergency rollback', 'rollback to a set'];
/** Rough full durations (ms), refined by every re-run: kills land anywhere in the operation. */
const typical: Record<Op, number> = {
  backup: 3000,
  'deploy good': 8000,
  'deploy broken': 14000,
  'emergency rollback': 7000,
  'rollback to a set': 7000,
};

test('kill at random points of backup, deploy and rollback; re-run; check the invariants', async () => {
  const rand = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const tally: RandomTally = {
    seed: SEED,
    iterations: 0,
    faultsInjected: 0,
    killsAfterTheEnd: 0,
    violations: 0,
    details: [],
    byOp: {},
    byMode: {},
    seconds: 0,
  };
  const started = Date.now();
  resetInstance('a');
  resetInstance('b');
  console.log(`kill-at-random: seed ${SEED}, at most ${MAX_ITERATIONS} iterations or ${MAX_MS / 60000} min`);

  for (let n = 1; n <= MAX_ITERATIONS && Date.now() - started < MAX_MS; n++) {
    const i: Instance = rand() < 0.65 ? a : b;
    const op = pick(OPS);
    const mode = rand() < 0.5 ? 'process' : 'connection';
    const delay = Math.floor(rand() * typical[op]);
    let line = `#${n} (seed ${SEED}) ${i.composeProject} ${op} ${mode} kill at ${delay} ms`;
    let problems: string[];
    let rerunTail = '';
    try {
      const r = await iteration({ n, i, op, mode, delay, pick });
      line = `#${n} (seed ${SEED}) ${i.composeProject} ${op} (${r.target}) ${mode} kill at ${delay} ms: main exit ${r.mainCode}, re-run exit ${r.rerun.code}${r.why}`;
      if (r.injected) tally.faultsInjected++;
      else tally.killsAfterTheEnd++;
      problems = r.problems;
      rerunTail = r.rerun.stdout
        .split('\n')
        .filter((l) => l.startsWith('::error') || l.startsWith('::warning'))
        .slice(-3)
        .join(' | ');
    } catch (err) {
      // Whatever the host was left in, the checker reports it and the run goes on: an unreadable
      // state is a finding, not a reason to stop looking.
      const why = (err as Error).message.replace(/\s+/g, ' ').slice(0, 600);
      problems = [`the iteration could not be carried out or checked: ${why}`];
    }
    tally.iterations = n;
    tally.byOp[op] = (tally.byOp[op] ?? 0) + 1;
    tally.byMode[mode] = (tally.byMode[mode] ?? 0) + 1;
    console.log(`${line}${problems.length ? ` — VIOLATION: ${problems.join('; ')}` : ''}`);
    if (problems.length) {
      tally.violations += problems.length;
      tally.details.push(`${line}: ${problems.join('; ')}`);
      if (rerunTail) tally.details.push(`  re-run output tail: ${rerunTail}`);
    }
    tally.seconds = Math.round((Date.now() - started) / 1000);
    writeTally(tally); // after every iteration: a run cut short still leaves its report
  }
  writeTally(tally);
  console.log(
    `kill-at-random tally: ${tally.iterations} iterations, ${tally.faultsInjected} faults injected mid-operation, ${tally.violations} invariant violations (seed ${SEED})`,
  );
  assert.ok(tally.iterations > 0, 'at least one iteration ran');
  assert.equal(tally.violations, 0, tally.details.join('\n'));
});

function writeTally(tally: RandomTally): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `random-${tally.seed}.json`), `${JSON.stringify(tally, null, 2)}\n`);
}

/**
 * One iteration: the operation killed at `delay`, its post step, the re-run (next attempt of the same
 * workflow run) and its post step, then the invariants. Throws only when the host cannot be driven or
 * read at all; the caller turns that into a violation.
 */
async function iteration(x: {
  n: number;
  i: Instance;
  op: Op;
  mode: 'process' | 'connection';
  delay: number;
  pick: <T>(xs: readonly T[]) => T;
}) {
  const { n, i, op, mode, delay } = x;
  const inputs = await inputsFor(i, op, x.pick);
  await addRecord(i, `it-${n}`);
  const namesBefore = liveNames(i);
  const setsBefore = new Set(setsOf(i).map((s) => s.id));
  const runId = `9${SEED}${n}`;
  const env = (attempt: number) => ({ GITHUB_RUN_ID: runId, GITHUB_RUN_ATTEMPT: String(attempt) });

  let pid = 0;
  let killed = false;
  const t0 = Date.now();
  const main = await runAction(inputs, {
    env: env(1),
    onSpawn: (p) => (pid = p),
    killWhen: () => {
      if (killed || Date.now() - t0 < delay) return false;
      killed = true;
      if (mode === 'process') return true;
      cutConnectionOf(pid);
      return false;
    },
  });
  // A kill only counts as a fault if it landed while the operation ran (a cut connection after the
  // last remote step does not fail the step).
  const injected = killed && (mode === 'process' || main.code !== 0);
  const post = await runAction(inputs, { env: env(1), dir: main.dir, post: true });
  // Before any re-run, the interrupted run must have left the service running, or said it is down.
  const afterPost =
    runningAppContainers(i).length > 0 || /::error::service \S+ is down/.test(post.stdout)
      ? []
      : ['after the post step no app container runs, and the post step did not say so'];
  const t1 = Date.now();
  const rerun = await runAction(inputs, { env: env(2) });
  typical[op] = Math.round((typical[op] * 3 + (Date.now() - t1)) / 4);
  await runAction(inputs, { env: env(2), dir: rerun.dir, post: true });

  // A re-run may rightly refuse (nothing left to roll back to); say why, so a wrong refusal shows.
  const why = rerun.code
    ? ` (${(rerun.stdout.split('\n').find((l) => l.startsWith('::error')) ?? '').replace(/^::error[^:]*::/, '').slice(0, 160)})`
    : '';
  return {
    target: inputs.version ?? inputs['backup-id'] ?? '',
    mainCode: main.code,
    injected,
    rerun,
    why,
    problems: [...afterPost, ...(await invariants(i, namesBefore, setsBefore))],
  };
}

async function inputsFor(
  i: Instance,
  op: Op,
  pick: <T>(xs: readonly T[]) => T,
): Promise<Record<string, string>> {
  const base = { ...instanceInputs(i), 'health-timeout': '40' };
  const current = await servedVersion(i).catch(() => '');
  switch (op) {
    case 'backup':
      return { ...base, command: 'backup' };
    case 'deploy good':
      return { ...base, command: 'deploy', version: current === 'v2' ? 'v5' : 'v2' };
    case 'deploy broken':
      return { ...base, command: 'deploy', version: 'v3' };
    case 'emergency rollback':
      return { ...base, command: 'rollback' };
    case 'rollback to a set': {
      // A set that holds a state something was rolled away from (a failed release, a half-switched
      // deploy) is restored faithfully and then fails verification: the invariants need a good state.
      const sets = setsOf(i).filter((s) => !ROLLED_AWAY_REASONS.includes(s.manifest.reason));
      const set = sets.length ? pick(sets) : null;
      return set
        ? { ...base, command: 'rollback', 'backup-id': set.id, scope: pick(['database', 'full', 'app']) }
        : { ...base, command: 'backup' };
    }
  }
}

/** The invariants after one iteration; each problem is one violation. */
async function invariants(i: Instance, namesBefore: string[], setsBefore: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  let health = 0;
  for (let t = 0; t < 20 && health !== 200; t++) {
    health = await healthStatus(i);
    if (health !== 200) await sleep(500);
  }
  const running = runningAppContainers(i);
  if (running.length !== 1) problems.push(`${running.length} app containers running, not exactly one`);
  if (health !== 200) problems.push(`the app answers ${health || 'nothing'} on ${i.healthUrl}`);
  problems.push(...setProblems(i), ...invalidSetsOf(i));
  if (lockHeld(i)) problems.push('the host lock is still held');
  problems.push(...versionTagProblems());
  const temps = tempSetsOf(i);
  if (temps.length) problems.push(`temporary sets left: ${temps.join(', ')}`);
  const helpers = helperContainers();
  if (helpers.length) problems.push(`${helpers.length} helper containers left`);
  // Every row that existed before must be live, or in a snapshot this iteration made.
  const have = new Set(liveNames(i));
  for (const s of setsOf(i).filter((x) => !setsBefore.has(x.id)))
    for (const name of setNames(i, s)) have.add(name);
  const lost = namesBefore.filter((name) => !have.has(name));
  if (lost.length) problems.push(`${lost.length} rows lost (e.g. ${lost.slice(0, 3).join(', ')})`);
  return problems;
}
