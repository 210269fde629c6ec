import type { DeployResult } from '../../deploy/result.js';
import { afterFailedCandidate } from '../deploy-candidate.js';
import { enableSlot, retireSlot } from '../proxy-slots.js';
import { currentContainer } from '../service.js';
import { failedChecks, verifyContainer } from '../verify.js';
import { heldDuring, verifyService, type SwitchRun } from './context.js';
import { recoverFailedDeploy } from '../recover.js';
import { runGroupedStep } from '../run-step.js';
import { HELD_TITLE } from './context.js';

export async function beside(run: SwitchRun): Promise<DeployResult> {
  const { host, settings, log, opts, plan, started, x, traffic, clock } = run;
  const proxy = x.facts.proxy;
  const c = plan.beside!;
  const switchAt = clock();
  const out = await runGroupedStep(host, log, c.start);
  const candidateId = out.trim().split('\n').pop() ?? c.name;
  const candidate = await log.group(`Verify the candidate of ${plan.reference} directly`, () =>
    verifyContainer(host, candidateId, settings.verify.health, settings.verify, log, clock),
  );
  if (!candidate.healthy) {
    await runGroupedStep(host, log, c.remove);
    // Traffic never left the running version. If the candidate moved the schema, the database restore
    // stops the service: requests wait at the proxy meanwhile.
    return afterFailedCandidate(
      host,
      settings,
      log,
      opts,
      plan,
      { ...started, failure: '' },
      {
        facts: x.facts,
        point: x.point,
        preSet: x.preSet,
        candidate,
        detectMs: clock() - switchAt,
        where: 'directly, beside the running version; traffic never reached it',
        around: (work) => heldDuring(run, work),
      },
      clock,
    );
  }
  const container = await host.docker.inspectContainer(candidateId);
  await log.group('Switch traffic to the candidate', async () => {
    await enableSlot(host, proxy, 'candidate', container, log);
    const r = await retireSlot(host, proxy, 'service', log, settings.deploy.drainTimeoutMs);
    Object.assign(traffic, { drainMs: r.drainMs, cut: r.cut });
  });
  await runGroupedStep(host, log, plan.setImage);
  let upError = '';
  await runGroupedStep(host, log, plan.up).catch((err: Error) => (upError = err.message));
  const v = upError ? { report: null } : await verifyService(host, settings, log, x, plan.reference, clock);
  const result: DeployResult = { ...started, verify: v.report, deployedImage: plan.reference };
  result.timings.detectMs = clock() - switchAt;
  if (v.report?.healthy) {
    const service = (await currentContainer(host, x.facts.project, settings.app.service))!;
    await log.group('Switch traffic back to the service', async () => {
      await enableSlot(host, proxy, 'service', service, log);
      const r = await retireSlot(host, proxy, 'candidate', log, settings.deploy.drainTimeoutMs);
      traffic.drainMs += r.drainMs;
      traffic.cut += r.cut;
    });
    await runGroupedStep(host, log, c.remove);
    return { ...result, ok: true, healthy: true };
  }
  // The candidate passed, the service on the same image did not: the candidate still serves. Requests
  // wait at the proxy while it leaves and the service goes back to the previous version.
  result.failure = upError
    ? `compose could not start ${plan.reference}: ${upError.split('\n').slice(0, 3).join(' ')}`
    : `${plan.reference} failed verification as the service after its candidate passed: ${v.report ? failedChecks(v.report) : 'no container'}`;
  return heldDuring(
    run,
    async () => {
      await runGroupedStep(host, log, c.remove);
      return recoverFailedDeploy(
        host,
        settings,
        log,
        opts,
        { ...x, reference: plan.reference, title: HELD_TITLE },
        result,
        clock,
      );
    },
    'candidate',
  );
}
