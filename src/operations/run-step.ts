import type { Step } from '../backup/steps.js';
import { RefusedError, RemoteCommandError } from '../errors.js';
import { UNDER_TERMINAL_EXIT } from '../shell.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';

/** Runs one step; a non-zero exit becomes a RemoteCommandError with the step's title and stderr tail. */
export async function runStep(host: RemoteHost, step: Step, log: Log): Promise<Buffer> {
  log.debug(`remote: ${step.command}`);
  const started = Date.now();
  const result = await host.exec(step.command, step.stdin === undefined ? {} : { stdin: step.stdin });
  log.debug(`${step.title}: exit ${result.code} after ${Date.now() - started} ms`);
  if (result.code === UNDER_TERMINAL_EXIT) {
    // Under a pty stderr arrives mixed into stdout: the explanation is the script's, restated here.
    throw new RefusedError(
      `${host.description} runs SSH commands under a terminal (pty), e.g. a ForceCommand or session-recording wrapper. ` +
        'Refusing before any change: stdin (scripts, database passwords) would be echoed into the output and binary data altered. ' +
        'Give the deploy user a plain, pty-less command session.',
    );
  }
  if (result.code !== 0) throw new RemoteCommandError(step.title, result.code, result.signal, result.stderr);
  return result.stdout;
}

/** Runs one step in its own log group, its output as text: how operations run their plan's steps. */
export const runGroupedStep = (host: RemoteHost, log: Log, s: Step): Promise<string> =>
  log.group(s.title, async () => (await runStep(host, s, log)).toString('utf8'));

/** The plan as an operator reads it (also the dry run's output): titles and exact remote commands. */
export function formatPlan(steps: readonly Step[]): string {
  return steps
    .map((s, i) => {
      const stdin = s.stdin === undefined ? '' : `\n   (stdin: ${s.stdinNote ?? 'data'})`;
      return `${i + 1}. ${s.title}\n   $ ${s.command.replace(/\n/g, '\n     ')}${stdin}`;
    })
    .join('\n');
}
