import { restoreEnvStep, retagStep, upStep } from '../deploy/commands.js';
import { decideDatabaseRestore, type SnapshotResult } from '../deploy/decide.js';
import { inProject } from '../compose.js';
import type { Log } from '../log.js';
import type { Manifest } from '../manifest.js';
import type { RemoteHost } from '../remote-host.js';
import { verifySetStep } from '../restore/commands.js';
import type { Settings } from '../settings.js';
import { backup, type BackupOptions } from './backup.js';
import type { Facts } from './facts.js';
import { restoreDatabase } from './restore.js';
import { runStep } from './run-step.js';
import { currentContainer } from './service.js';
import { verifyContainer, type VerifyReport } from './verify.js';

export interface SetOnHost {
  manifest: Manifest;
  dir: string;
}

export interface RollbackResult {
  verify: VerifyReport | null;
  failedState: SetOnHost | null;
  restored: string[];
  notes: string[];
  /** The reference the env file names again. */
  image: string;
}

/**
 * Puts the host back to a backup set's image, env file and (when needed) database:
 * stop the service → snapshot what is about to be overwritten → env file → database → the exact
 * backed-up image under its old reference → up → verify. Each part that fails is reported and the rest
 * still runs: ending on the previous image is better than stopping half-way.
 */
export async function rollbackToSet(
  host: RemoteHost,
  settings: Settings,
  log: Log,
  facts: Facts,
  target: SetOnHost,
  opts: {
    snapshotReason: string;
    newId: () => string;
    now: () => Date;
    toolVersion: string;
    onPending?: BackupOptions['onPending'];
  },
): Promise<RollbackResult> {
  const { app } = settings;
  const step = (s: Parameters<typeof runStep>[1]) =>
    log.group(s.title, async () => (await runStep(host, s, log)).toString());
  const restored: string[] = [];
  const notes: string[] = [];
  const m = target.manifest;
  const envFile = m.files.find((f) => f.path === 'env');

  // Refuse before touching anything if the set is not what its manifest says.
  await step(verifySetStep(target.dir, envFile ? [envFile] : []));
  // Through the Docker API already open on this connection: `compose stop` would only start compose
  // (a Python program with v1) to send the same request.
  const stopped = await currentContainer(host, facts.project, app.service);
  if (stopped) await log.group(`Stop ${app.service}`, () => host.docker.stopContainer(stopped.id, 10));

  // The failed state's database (and env) as its own set, so this rollback can be undone.
  let snapshot: SnapshotResult;
  let failedState: SetOnHost | null = null;
  const snapId = opts.newId();
  try {
    const out = await backup(
      host,
      {
        ...settings,
        backup: { ...settings.backup, volumes: [], keep: 0 },
        output: { ...settings.output, dryRun: false },
      },
      log,
      {
        id: snapId,
        reason: opts.snapshotReason,
        now: opts.now(),
        toolVersion: opts.toolVersion,
        facts,
        ...(opts.onPending ? { onPending: opts.onPending } : {}),
      },
    );
    if (out.dryRun) throw new Error('unexpected dry run');
    failedState = { manifest: out.manifest, dir: out.setDir };
    snapshot = { ok: true, database: out.manifest.database, id: out.manifest.id };
  } catch (err) {
    snapshot = { ok: false, why: (err as Error).message.split('\n')[0] ?? 'unknown' };
    notes.push(`failed-state snapshot could not be made: ${snapshot.why}`);
    log.warning(`failed-state snapshot could not be made: ${snapshot.why}`);
  }

  const envPath = inProject(app.projectDir, app.envFile);
  await step(restoreEnvStep(`${target.dir}/env`, envPath));
  restored.push(`env file ${app.envFile} from ${m.id}`);

  const decision = decideDatabaseRestore(settings.deploy.restoreDatabase, m.database, snapshot);
  log.info(`database: ${decision.restore ? 'restoring' : 'not restoring'}: ${decision.why}`);
  if (decision.restore && stopped) {
    try {
      const r = await restoreDatabase(host, settings, log, target, stopped.id, snapId);
      restored.push(
        r.detail +
          (r.aside && !r.detail.includes(r.aside) ? `; the replaced data is kept as ${r.aside}` : ''),
      );
    } catch (err) {
      notes.push(`database NOT restored: ${(err as Error).message.split('\n')[0]}`);
      log.warning(`database restore failed: ${(err as Error).message}`);
    }
  } else {
    notes.push(`database not restored: ${decision.restore ? 'the service has no container' : decision.why}`);
  }

  const reference = m.image.envValue || m.image.reference;
  await step(retagStep(m.image.backupTag, reference));
  restored.push(
    `image ${reference} (${m.image.id.replace(/^sha256:/, '').slice(0, 12)}) from its backup tag`,
  );
  await step(upStep(facts.compose, app.service));
  const container = await currentContainer(host, facts.project, app.service);
  const verify = container
    ? await log.group('Verify the restored version', () =>
        verifyContainer(host, container.id, settings.verify.health, settings.verify, log),
      )
    : null;
  return { verify, failedState, restored, notes, image: reference };
}
