import type { Step } from '../backup/steps.js';
import { RefusedError, RemoteCommandError } from '../errors.js';
import { deferredLog, type Log } from '../log.js';
import {
  classifyMigrations,
  migrationLine,
  refusedBy,
  type MigrationReport,
} from '../migrations/classify.js';
import { readMigrationFacts } from '../migrations/read.js';
import type { ClassifyLike } from '../migrations/step.js';
import { rollbackPath, withWayBack } from '../migrations/way-back.js';
import type { RemoteHost } from '../remote-host.js';
import type { DeploySettings } from '../settings.js';
import { runStep } from './run-step.js';

/**
 * Runs the classification step and applies the migration policy, before anything changes. A release
 * that cannot be classified (no Django, a settings error) goes on under `allow`, with a warning, and
 * is refused under any other policy: a policy that cannot be checked is not met.
 */
export async function classifyRelease(
  host: RemoteHost,
  log: Log,
  d: Pick<DeploySettings, 'migrationPolicy'>,
  reference: string,
  step: Step,
  like: ClassifyLike | null = null,
): Promise<MigrationReport | null> {
  let why = '';
  let report: MigrationReport | null = null;
  try {
    const read = await log.group(step.title, () => listMigrations(host, log, step, like));
    if (read.ok) report = withWayBack(classifyMigrations(read.facts), read.facts);
    else why = read.why;
  } catch (err) {
    // The new image's own error output is app output: it stays out of the refusal and the warning.
    why =
      err instanceof RemoteCommandError
        ? `its Django could not list them (exit ${err.code ?? err.signal ?? 'unknown'})`
        : (err as Error).message;
  }
  if (!report) {
    if (d.migrationPolicy !== 'allow')
      throw new RefusedError(
        `migration-policy ${d.migrationPolicy}: the migrations of ${reference} could not be classified (${why}); nothing was changed`,
      );
    log.warning(
      `the migrations of ${reference} could not be classified (${why}); deploying (migration-policy allow)`,
    );
    return null;
  }
  log.info(
    report.pending.length
      ? `migrations ${reference} would apply: ${report.pending.map(migrationLine).join('; ')} → ${report.class}`
      : `${reference} has no migrations to apply`,
  );
  if (report.reverse) {
    const back = rollbackPath(report);
    log.info(`rollback path: ${back.path}: ${back.why}`);
  }
  const refused = refusedBy(d.migrationPolicy, report);
  if (refused.length)
    throw new RefusedError(
      `migration-policy ${d.migrationPolicy} refuses ${reference}: ${refused.map(migrationLine).join('; ')}; nothing was changed`,
    );
  return report;
}

/**
 * What the new image's Django lists, read: beside the running container when the plan allows it, or
 * with compose run (also when that run did not give a readable listing: compose run is the reference).
 * The run's own output is app output: only its exit code is said.
 */
async function listMigrations(
  host: RemoteHost,
  log: Log,
  step: Step,
  like: ClassifyLike | null,
): Promise<ReturnType<typeof readMigrationFacts>> {
  if (like) {
    const beside = `beside container ${like.container.slice(0, 12)}`;
    let why: string;
    try {
      const r = await host.docker.runLike(like.container, like.spec);
      const read = r.code === 0 ? readMigrationFacts(r.stdout) : null;
      if (read?.ok) {
        log.info(`ran ${beside} (Docker API): its configuration is still the service's`);
        return read;
      }
      why = read ? 'printed no listing' : `exited with code ${r.code}`;
    } catch (err) {
      why = `could not run (${(err as Error).message})`;
    }
    log.info(`${beside} it ${why}; with compose run instead`);
  }
  return readMigrationFacts((await runStep(host, step, log)).toString());
}

/**
 * Starts the classification. Under migration-policy allow nothing it finds refuses the deploy, so it
 * runs beside the backup (both only read the database) and its log is said afterwards, in one piece
 * (`said`); under any other policy it runs to its end first: a refusal comes before anything is written.
 */
export interface Classification {
  report: Promise<MigrationReport | null>;
  /** Says the classification's log, once it ended. */
  said(): Promise<void>;
}

export async function startClassification(
  host: RemoteHost,
  log: Log,
  d: Pick<DeploySettings, 'migrationPolicy'>,
  reference: string,
  step: Step,
  like: ClassifyLike | null = null,
): Promise<Classification> {
  if (d.migrationPolicy !== 'allow') {
    const report = Promise.resolve(await classifyRelease(host, log, d, reference, step, like));
    return { report, said: async () => {} };
  }
  const deferred = deferredLog();
  const report = classifyRelease(host, deferred.log, d, reference, step, like).catch((err: Error) => {
    deferred.log.warning(
      `the migrations of ${reference} could not be classified (${err.message}); deploying (migration-policy allow)`,
    );
    return null;
  });
  return {
    report,
    said: async () => {
      await report;
      await deferred.replay(log);
    },
  };
}
