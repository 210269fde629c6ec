import { sweepHelpersStep } from '../backup/helper-containers.js';
import { parseKeyValues } from '../backup/key-values.js';
import { RefusedError } from '../errors.js';
import type { Log } from '../log.js';
import { acquireStep, breakStaleStep, keeperCommand, lockDir, releaseStep } from '../lock/commands.js';
import { describeOwner, judgeHeldLock, type HeldLock } from '../lock/judge.js';
import type { RemoteHost } from '../remote-host.js';
import type { Settings } from '../settings.js';
import { inProject } from '../compose.js';
import { BACKUP_ID } from '../validate.js';
import { runStep } from './run-step.js';

export interface LockHandle {
  dir: string;
  token: string;
  release(): Promise<void>;
}

const POLL_MS = 2000;

/**
 * One changing operation per compose project at a time. A second run waits (polling, up to
 * lock-timeout) and then fails naming the holder — with no side effects. A stale lock is reported
 * with the exact command to clear it, and broken only when break-stale-lock says so.
 */
export async function acquireLock(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  token: string,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<LockHandle> {
  const dir = lockDir(settings.app.projectDir);
  const owner = JSON.stringify({
    command: settings.command,
    runId: settings.run.runId,
    runUrl:
      settings.run.serverUrl && settings.run.repository && settings.run.runId
        ? `${settings.run.serverUrl}/${settings.run.repository}/actions/runs/${settings.run.runId}`
        : '',
    repository: settings.run.repository,
    actor: settings.run.actor,
    runner: process.env.RUNNER_NAME ?? '',
    started: new Date().toISOString(),
  });
  const deadline = Date.now() + settings.lock.timeoutMs;
  let announced = false;
  for (;;) {
    const out = parseKeyValues((await runStep(host, acquireStep(dir, token, owner), log)).toString());
    const kv = new Map(out.map((x) => [x.key, x.value]));
    if (kv.get('state') === 'acquired') break;
    const held: HeldLock = {
      owner: kv.get('owner') ?? '',
      ageSeconds: Number(kv.get('age_s') ?? '0'),
      keeper: (kv.get('keeper') ?? 'none') as HeldLock['keeper'],
    };
    const who = describeOwner(held.owner);
    const verdict = judgeHeldLock(held, settings.connection.commandTimeoutMs / 1000);
    if (verdict.kind === 'stale') {
      if (settings.lock.breakStale) {
        log.warning(`breaking the stale lock ${dir} held by ${who}: ${verdict.why}`);
        await runStep(host, breakStaleStep(dir), log);
        continue;
      }
      throw new RefusedError(
        `the host lock ${dir} is stale: ${verdict.why}. It was taken by ${who}. ` +
          `Nothing was changed. If no operation is running on the host, clear it with \`rm -rf ${dir}\` ` +
          'on the host (or run again with break-stale-lock: true), then re-run.',
      );
    }
    if (Date.now() >= deadline) {
      throw new RefusedError(
        `the host lock ${dir} is held by ${who}; waited ${settings.lock.timeoutMs / 1000} s (lock-timeout). Nothing was changed.`,
      );
    }
    if (!announced) log.info(`waiting for the host lock ${dir}, held by ${who}`);
    announced = true;
    await sleep(POLL_MS);
  }
  // The keeper lives as long as this connection, or until the release closes its stdin; awaited then.
  let letGo = () => {};
  const released = new Promise<void>((resolve) => (letGo = resolve));
  const keeper = host
    .exec(keeperCommand(dir, token), { timeoutMs: 7 * 24 * 3600 * 1000, holdStdin: released })
    .catch(() => undefined);
  log.info(`took the host lock ${dir}`);
  await sweepHelpers(host, settings, log);
  return {
    dir,
    token,
    release: async () => {
      await runStep(host, releaseStep(dir, token), log);
      letGo();
      await keeper;
    },
  };
}

/**
 * Under the project's lock no helper container or temporary set of that project can be in use: any
 * there is left by an interrupted run (a helper would keep the volumes mounted, and a SQLite helper
 * could still hold the file; a temporary set is a backup that never completed).
 */
export async function sweepHelpers(
  host: RemoteHost,
  settings: Pick<Settings, 'app' | 'backup'>,
  log: Log,
): Promise<string[]> {
  const step = sweepHelpersStep(
    settings.app.projectDir,
    inProject(settings.app.projectDir, settings.backup.dir),
  );
  const out = parseKeyValues((await runStep(host, step, log)).toString());
  const removed = out.filter((x) => x.key === 'removed').map((x) => x.value);
  if (removed.length)
    log.warning(
      `removed ${removed.length} helper container(s) an interrupted run left: ${removed.join(', ')}`,
    );
  // Names come from the host's directory listing: only a backup id is repeated in the log.
  const sets = out.filter((x) => x.key === 'removed_set').map((x) => x.value.replace(/^\.tmp-/, ''));
  if (sets.length)
    log.warning(
      `removed ${sets.length} unfinished backup set(s) an interrupted run left: ${sets.map((s) => (BACKUP_ID.test(s) ? s : '(unexpected name)')).join(', ')}`,
    );
  return removed;
}
