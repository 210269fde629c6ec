import * as core from '@actions/core';
import { runBackup } from './commands/backup.js';
import { runDeploy } from './commands/deploy.js';
import { runList } from './commands/list.js';
import { runRollback } from './commands/rollback.js';
import { runVerify } from './commands/verify.js';
import { reportStop } from './edge/exit.js';
import { coreLog, readSettings, runnerState } from './edge/runner.js';
import type { Outcome } from './edge/upload.js';
import { withLock } from './edge/locked.js';
import type { RemoteHost } from './remote-host.js';
import { startReporting, type Reporting } from './report/reporter.js';
import type { Settings } from './settings.js';
import { openHost } from './ssh/open.js';

/** Each command: what it runs and presents, and whether it changes the host (and so takes the lock). */
const COMMANDS: Record<
  Settings['command'],
  { changes: boolean; run: (s: Settings, h: RemoteHost) => Promise<Outcome | void> }
> = {
  backup: { changes: true, run: runBackup },
  list: { changes: false, run: runList },
  deploy: { changes: true, run: runDeploy },
  rollback: { changes: true, run: runRollback },
  verify: { changes: false, run: runVerify },
};

/** The main step: settings, one SSH connection, the lock when the command changes the host, the command. */
export async function run(): Promise<void> {
  runnerState.markMain();
  let reporting: Reporting | null = null;
  try {
    const settings = readSettings();
    reporting = startReporting(settings, coreLog);
    const { host, handshakes } = await openHost(settings.connection, coreLog);
    core.debug(`SSH handshakes: ${handshakes}`);
    const command = COMMANDS[settings.command];
    const locked = command.changes && !settings.output.dryRun;
    let outcome: Outcome | void;
    try {
      const go = () => command.run(settings, host);
      outcome = locked ? await withLock(settings, host, go) : await go();
    } finally {
      await host.close();
    }
    // After the lock is released: a slow webhook must not keep the next run waiting for the host.
    if (outcome) await reporting.finish(outcome.event, outcome.where);
  } catch (err) {
    const published = await reportStop(err);
    await reporting?.error(published);
  }
}
