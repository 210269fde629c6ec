import * as core from '@actions/core';
import { InputError, RefusedError } from '../errors.js';
import { exitSummary } from '../report/run-summary.js';

/** Where a remote step's stderr begins in an error's message (see RemoteCommandError). */
const STDERR_TAIL = '\n--- stderr (tail) ---';

/** The command asked for, as far as it is one (the run may have stopped reading the inputs). */
function commandAsked(): string {
  const c = core.getInput('command');
  return ['backup', 'list', 'deploy', 'verify', 'rollback'].includes(c) ? c : 'run';
}

/**
 * A run that stopped on a refusal or an error still reports: the `result` output, a titled annotation
 * and a step summary. What is published is the message without the remote stderr (which can quote
 * data); the whole text is in the log for the operator. Returns what was published.
 */
export async function reportStop(err: unknown): Promise<string> {
  const message = err instanceof Error ? err.message : String(err);
  const result = err instanceof RefusedError || err instanceof InputError ? 'refused' : 'failed';
  const headline = message.split(STDERR_TAIL)[0]!;
  if (headline !== message) core.info(message);
  const command = commandAsked();
  core.setOutput('result', result);
  core.error(headline, { title: `eqmd-rollback: ${command} ${result}` });
  process.exitCode = core.ExitCode.Failure;
  await core.summary
    .addRaw(exitSummary(command, result, headline))
    .write()
    .catch((e: Error) => core.warning(`could not write the step summary: ${e.message}`));
  return headline;
}
