import type { DeployPlan } from '../deploy/plan.js';
import { backupTag } from '../backup/set-paths.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import { appRestoreSteps } from '../restore/plan.js';
import type { Settings } from '../settings.js';
import { backup } from './backup.js';
import type { DeployOptions } from '../deploy/result.js';
import type { Facts } from './facts.js';
import { commands, runtimeStep } from '../proxy/runtime.js';
import { formatPlan } from './run-step.js';
import { healthUrlText } from './verify.js';

/**
 * The dry run: the exact commands of every step, the pre-deploy backup's included (planned from the
 * same look at the host), and the recovery a failed verification would run, as planned now. Parts that
 * depend on what the backup finds (its checksums, whether the schema moved) are named as conditions.
 */
export async function deployDryRun(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  opts: DeployOptions,
  facts: Facts,
  plan: DeployPlan,
): Promise<string> {
  const { app, deploy: d } = settings;
  const id = opts.newId();
  const backupPlan = await backup(host, settings, log, {
    id,
    reason: opts.reason ?? 'pre-deploy',
    now: opts.now(),
    toolVersion: opts.toolVersion,
    facts,
  });
  if (!backupPlan.dryRun) throw new Error('unexpected backup outside the dry run');
  const recovery = appRestoreSteps({
    setDir: `${facts.backupDir}/${id}`,
    envPath: plan.envPath,
    backupTag: backupTag(facts.project, id),
    reference: plan.previousImage,
    compose: facts.compose,
    service: app.service,
  });
  const verify = `verify ${healthUrlText(settings.verify.health)} (every ${settings.verify.healthIntervalMs / 1000} s, up to ${settings.verify.healthTimeoutMs / 1000} s; fail fast on 3 server errors in a row, an exited or restarting container)`;
  const c = plan.candidate;
  return [
    plan.checksBesideBackup
      ? 'Checks before the switch (beside the backup below; a failure removes its set and refuses the deploy):'
      : 'Checks before anything changes:',
    formatPlan([plan.check, ...plan.fetch, ...(plan.classify ? [plan.classify] : [])]),
    ...(plan.classify && plan.classifyLike
      ? [
          `The listing of the migrations runs beside container ${plan.classifyLike.container.slice(0, 12)} through the Docker API if the configuration check prints its configuration hash (${plan.classifyLike.configHash.slice(0, 12)}…): a container of ${plan.reference} in its network and volumes, with the environment, user and working dir its service gave it, runs ${plan.classifyLike.spec.entrypoint.join(' ')} ${plan.classifyLike.spec.cmd.slice(0, -1).join(' ')} with the script above, and is removed; otherwise, or without a listing from it, the compose run above.`,
        ]
      : []),
    ...(plan.classify
      ? [
          `then the migrations are classified (compatible, breaks-old-writes, destructive, irreversible); migration-policy ${d.migrationPolicy}${d.migrationPolicy === 'allow' ? ' refuses none' : ' refuses the deploy here on a match, before the backup'}.`,
        ]
      : []),
    '',
    `Back up the running version (reason ${opts.reason ?? 'pre-deploy'}) as set ${id}:`,
    backupPlan.plan,
    '',
    ...(plan.beside && facts.proxy
      ? zeroDowntimeText(plan, facts.proxy.container.name, facts.proxy.container.id, verify, d.drainTimeoutMs)
      : [
          'Switch:',
          formatPlan([...(c ? [c.start, c.remove] : []), plan.setImage, plan.up]),
          `then ${verify}.`,
        ]),
    '',
    d.autoRollback
      ? [
          `If that verification fails: stop ${app.service} (${facts.container ? `Docker API, container ${facts.container.id.slice(0, 12)}` : 'no container now'}), ` +
            'snapshot the failed state (reason failed-deploy: the backup steps above, as a new set), then:',
          formatPlan([recovery.verifySet, recovery.env]),
          `database: ${d.restoreDatabase === 'never' ? 'never restored (restore-database: never)' : d.restoreDatabase === 'always' ? `restored from ${id} (restore-database: always)` : `restored from ${id} only if its schema fingerprint no longer matches the set's, unless only this release's migrations moved it: kept when they are all compatible; migrated back with its image when Django undoes them without losing a record (breaks-old-writes, renames), every record kept (restore-database: auto)`}`,
          formatPlan([recovery.retag, recovery.up]),
          `then ${verify}.`,
        ].join('\n')
      : 'If that verification fails: nothing more (auto-rollback is off); the set above holds the previous state.',
  ].join('\n');
}

/** The zero-downtime switch, both ways; which one runs depends on the classification above. */
function zeroDowntimeText(
  plan: DeployPlan,
  proxyName: string,
  proxyId: string,
  verify: string,
  drainMs: number,
): string[] {
  const b = plan.beside!;
  const api = (cmds: string[]) => formatPlan([runtimeStep(proxyId, cmds, true)]);
  const drain = `drain (in-flight requests finish; up to ${drainMs / 1000} s, then cut and counted), then maintenance`;
  return [
    `Switch through the HAProxy in ${proxyName} (strategy zero-downtime); every runtime command is one step like this one:`,
    api(commands.drain('service')),
    'If the release applies no migration or only compatible ones, beside the running version:',
    formatPlan([b.start]),
    `then ${verify} directly at the candidate's address; on failure it is removed and traffic never left the running version.`,
    `Then the candidate slot takes the traffic (set server app/candidate addr <its address> port <app port>; state ready), the service slot is put in ${drain}, and:`,
    formatPlan([plan.setImage, plan.up]),
    `then ${verify} directly; the service slot takes the traffic back, the candidate slot is put in ${drain}, and:`,
    formatPlan([b.remove]),
    'Otherwise (migrations that are not compatible, or not classified), with requests held:',
    `the service slot is put in ${drain}: new requests wait at the proxy (up to its hold bound, then 503 with Retry-After), and:`,
    formatPlan([plan.setImage, plan.up]),
    `then ${verify} directly; the service slot takes the traffic again once verified, or after the automatic rollback below.`,
  ];
}
