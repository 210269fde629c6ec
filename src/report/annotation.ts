import { checksLine, type RunEvent } from './event.js';

export interface Annotation {
  title: string;
  message: string;
}

/**
 * The error annotation shown at the top of the run for a failed verification or a rollback: it names the
 * failed check and the version restored, so nobody has to open the log to learn what runs now. Pure.
 */
export function annotationFor(e: RunEvent): Annotation | null {
  const failedCheck = e.failedChecks.length ? `Failed check: ${checksLine(e.failedChecks)}.` : '';
  const now = `Now running ${e.runningImage} (${e.healthy ? 'healthy' : 'NOT healthy'}).`;
  switch (e.outcome) {
    case 'rolled-back':
      return {
        title: `Deploy of ${e.requested} rolled back`,
        message: [
          failedCheck || `Failure: ${e.failure}.`,
          `Restored ${e.runningImage} (${e.healthy ? 'healthy' : 'NOT healthy'}).`,
        ].join(' '),
      };
    case 'failed':
      return {
        title: e.command === 'verify' ? 'Verification failed' : `Deploy of ${e.requested} failed`,
        message: [
          failedCheck || `Failure: ${e.failure}.`,
          e.command === 'verify' ? `Image ${e.runningImage}.` : now,
        ].join(' '),
      };
    case 'restored':
    case 'rollback-failed':
      return {
        title: `Rolled back to ${e.requested}${e.outcome === 'rollback-failed' ? ' (incomplete)' : ''}`,
        message: [
          `Restored ${e.runningImage} in place of ${e.previousImage} (${e.healthy ? 'healthy' : 'NOT healthy'}).`,
          failedCheck,
          e.failure && !failedCheck ? `Failure: ${e.failure}.` : '',
        ]
          .filter(Boolean)
          .join(' '),
      };
    default:
      // deployed / verified need no annotation; an error already is one (the step's failure message).
      return null;
  }
}
