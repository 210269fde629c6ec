import type { Step } from '../backup/steps.js';
import type { DeployPlan } from '../deploy/plan.js';
import { RefusedError } from '../errors.js';
import { deferredLog, type Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import { runGroupedStep } from './run-step.js';

const refused = (s: Step, err: unknown) =>
  new RefusedError(`${s.title} failed; nothing was changed on the host.\n${(err as Error).message}`);

/**
 * The deploy's checks that change nothing: the compose configuration beside the fetch (the pull, then
 * the pre-deploy command in the new image), the check's log said after the fetch's. `afterFetch`
 * starts as soon as the fetch succeeded, still beside the check: it needs the new image and nothing
 * else (the classification of its migrations). A failure refuses the deploy with the host untouched;
 * a failed configuration check is reported first, as when it ran first.
 */
export async function checkAndFetch(
  host: RemoteHost,
  log: Log,
  plan: Pick<DeployPlan, 'check' | 'fetch'>,
  afterFetch: () => Promise<void> = async () => {},
): Promise<void> {
  const checkLog = deferredLog();
  const checked = runGroupedStep(host, checkLog.log, plan.check).then(
    () => null,
    (err: unknown) => refused(plan.check, err),
  );
  let fetchFailed: RefusedError | null = null;
  for (const s of plan.fetch) {
    fetchFailed = await runGroupedStep(host, log, s).then(
      () => null,
      (err: unknown) => refused(s, err),
    );
    if (fetchFailed) break;
  }
  const afterFailed = fetchFailed
    ? null
    : await afterFetch().then(
        () => null,
        (err: unknown) => err,
      );
  const checkFailed = await checked;
  await checkLog.replay(log);
  if (checkFailed ?? fetchFailed) throw checkFailed ?? fetchFailed;
  if (afterFailed) throw afterFailed;
}
