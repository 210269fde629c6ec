import type { Step } from '../backup/steps.js';
import { readConfigHash } from '../deploy/config-check.js';
import type { DeployPlan } from '../deploy/plan.js';
import { RefusedError } from '../errors.js';
import { deferredLog, type Log } from '../log.js';
import type { MigrationReport } from '../migrations/classify.js';
import type { RemoteHost } from '../remote-host.js';
import type { DeploySettings } from '../settings.js';
import { startClassification, type Classification } from './migrations.js';
import { runGroupedStep } from './run-step.js';

const refused = (s: Step, err: unknown) =>
  new RefusedError(`${s.title} failed; nothing was changed on the host.\n${(err as Error).message}`);

/**
 * The deploy's checks that change nothing: the compose configuration beside the fetch (the pull, then
 * the pre-deploy command in the new image), the check's log said after the fetch's. `afterChecks`
 * starts once both succeeded, with what the configuration check printed (the service's configuration
 * hash): it needs the new image and that hash (the classification of its migrations). A failure
 * refuses the deploy with the host untouched; a failed configuration check is reported first, as when
 * it ran first.
 */
export async function checkAndFetch(
  host: RemoteHost,
  log: Log,
  plan: Pick<DeployPlan, 'check' | 'fetch'>,
  afterChecks: (configOutput: string) => Promise<void> = async () => {},
): Promise<void> {
  const checkLog = deferredLog();
  const checked = runGroupedStep(host, checkLog.log, plan.check).then(
    (out) => ({ out, failed: null }),
    (err: unknown) => ({ out: '', failed: refused(plan.check, err) }),
  );
  let fetchFailed: RefusedError | null = null;
  for (const s of plan.fetch) {
    fetchFailed = await runGroupedStep(host, log, s).then(
      () => null,
      (err: unknown) => refused(s, err),
    );
    if (fetchFailed) break;
  }
  const check = await checked;
  await checkLog.replay(log);
  if (check.failed ?? fetchFailed) throw check.failed ?? fetchFailed;
  await afterChecks(check.out);
}

/** The checks, the fetch and the classification of a deploy, started; see startChecks. */
export interface ReleaseChecks {
  /** Settles once the checks, the fetch and the classification's start are done; rejects with the refusal. */
  ready: Promise<void>;
  /** The classification's report (null without one); rejects as `ready` does. */
  migrations: Promise<MigrationReport | null>;
  /** Waits for all of it, then says its log (when it ran beside the backup). Never rejects. */
  said(): Promise<void>;
}

/**
 * Starts what a deploy checks before it changes anything. `plan.checksBesideBackup` (migration-policy
 * allow: no finding refuses the deploy) lets the backup run meanwhile: a pull of new layers takes as long as a
 * backup, and neither needs the other. Their log is then said after the backup's, in one piece; a
 * refusal still comes before the switch, and the backup's set is removed (its manifest waits for the
 * report). Otherwise the caller awaits `ready` first: a refusal comes before anything is written.
 */
export function startChecks(
  host: RemoteHost,
  log: Log,
  plan: Pick<DeployPlan, 'check' | 'fetch' | 'classify' | 'classifyLike' | 'checksBesideBackup'>,
  d: Pick<DeploySettings, 'migrationPolicy'>,
  reference: string,
): ReleaseChecks {
  const deferred = plan.checksBesideBackup ? deferredLog() : null;
  const l = deferred?.log ?? log;
  let classification: Classification | null = null;
  const ready = checkAndFetch(host, l, plan, async (configOutput) => {
    if (!plan.classify) return;
    // Beside the running container only if the configuration it was created from is still the service's.
    const like = plan.classifyLike;
    const same = !!like && readConfigHash(configOutput, like.service) === like.configHash;
    classification = await startClassification(host, l, d, reference, plan.classify, same ? like : null);
  }).catch(async (err: unknown) => {
    // A listing still running (policy allow) is not left behind the lock.
    await classification?.report;
    throw err;
  });
  const migrations = ready.then(() => classification?.report ?? null);
  // Awaited later (the backup's manifest, the deploy): handled now, so an early refusal is not taken
  // for an unhandled rejection meanwhile.
  migrations.catch(() => {});
  return {
    ready,
    migrations,
    said: async () => {
      await migrations.catch(() => {});
      await classification?.said();
      await deferred?.replay(log);
    },
  };
}
