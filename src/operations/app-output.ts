import { keepFileStep } from '../backup/stored-sets.js';
import type { Log } from '../log.js';
import type { RemoteHost } from '../remote-host.js';
import { appOutputText } from '../report/app-output.js';
import { runStep } from './run-step.js';
import type { VerifyReport } from './verify.js';

/** A verification whose app output is worth keeping, with what it verified. */
export interface LabelledVerify {
  label: string;
  report: VerifyReport | null;
}

/** The app output of the failed ones among these verifications, as one text ('' when none said anything). */
export function failedAppOutput(parts: readonly LabelledVerify[]): string {
  return appOutputText(
    parts.flatMap((p) =>
      p.report && !p.report.healthy ? [{ label: p.label, output: p.report.appOutput }] : [],
    ),
  );
}

/**
 * Keeps the app's output of failed verifications on the host, in the set this run made (mode 0600):
 * the detail an operator needs, where only the deploy user can read it. Returns its path, or null when
 * there was nothing to keep; a failure to keep it only warns (it is on the runner too).
 */
export async function keepAppOutput(
  host: RemoteHost,
  log: Log,
  setDir: string,
  parts: readonly LabelledVerify[],
): Promise<string | null> {
  const text = failedAppOutput(parts);
  if (!text) return null;
  const path = `${setDir}/app-output.txt`;
  try {
    await runStep(host, keepFileStep(path, text), log);
    return path;
  } catch (err) {
    log.warning(`the app output could not be kept on the host: ${(err as Error).message.split('\n')[0]}`);
    return null;
  }
}
