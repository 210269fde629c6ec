import { checksLine, rolledBack, type RunEvent } from './event.js';

export interface MessageContext {
  repository: string;
  environment: string;
  runUrl: string;
  /** The uploaded artifact holding the manifest (and the incident note), or null when none was uploaded. */
  artifact: { name: string; url: string } | null;
  /** Where the manifest is when there is no artifact (a path on the runner), or ''. */
  manifestPath: string;
}

/**
 * What the webhook receives. `text` is the one field both Slack and Teams incoming webhooks render; the
 * same facts follow as fields for a receiver that wants them.
 */
export interface WebhookMessage {
  text: string;
  eqmd: {
    command: string;
    outcome: string;
    repository: string;
    environment: string;
    requested: string;
    previousImage: string;
    runningImage: string;
    healthy: boolean;
    failure: string;
    restored: string[];
    runUrl: string;
    artifact: string;
  };
}

/** Rollbacks and failures are worth a message; a good deploy or verification is not. */
export function shouldNotify(e: RunEvent): boolean {
  return e.outcome !== 'deployed' && e.outcome !== 'verified';
}

const MAX_LINE = 300;
const clip = (s: string): string => (s.length > MAX_LINE ? `${s.slice(0, MAX_LINE - 1)}…` : s);

export function webhookMessage(e: RunEvent, ctx: MessageContext): WebhookMessage {
  const where = [ctx.repository, ctx.environment].filter(Boolean).join(' / ') || 'EquipeMed';
  const artifact = ctx.artifact
    ? `${ctx.artifact.name} ${ctx.artifact.url}`
    : ctx.manifestPath
      ? `not uploaded; on the runner at ${ctx.manifestPath}`
      : 'none';
  const lines = [
    `[${where}] ${headline(e)}`,
    ...(e.failure ? [`Failed: ${clip(e.failedChecks.length ? checksLine(e.failedChecks) : e.failure)}`] : []),
    ...(e.runningImage
      ? [
          `Versions: ${e.command === 'deploy' ? `tried ${e.requested}, ` : ''}was ${e.previousImage}, now ${e.runningImage} (${e.healthy ? 'healthy' : 'NOT healthy'})`,
        ]
      : []),
    ...(rolledBack(e) ? [`Restored: ${clip(e.restored.join('; ') || 'nothing')}`] : []),
    `Manifest artifact: ${artifact}`,
    `Run: ${ctx.runUrl || '(not a GitHub Actions run)'}`,
  ];
  return {
    text: lines.join('\n'),
    eqmd: {
      command: e.command,
      outcome: e.outcome,
      repository: ctx.repository,
      environment: ctx.environment,
      requested: e.requested,
      previousImage: e.previousImage,
      runningImage: e.runningImage,
      healthy: e.healthy,
      failure: e.failure,
      restored: e.restored,
      runUrl: ctx.runUrl,
      artifact: ctx.artifact?.url ?? '',
    },
  };
}

function headline(e: RunEvent): string {
  switch (e.outcome) {
    case 'rolled-back':
      return `Deploy of ${e.requested} FAILED and was rolled back to ${e.runningImage}`;
    case 'failed':
      return e.command === 'verify'
        ? `Verification of ${e.runningImage} FAILED`
        : `Deploy of ${e.requested} FAILED (not rolled back)`;
    case 'restored':
      return `Rolled back to ${e.requested}`;
    case 'rollback-failed':
      return `Rollback to ${e.requested} did not complete`;
    case 'error':
      return `${e.command}${e.requested ? ` of ${e.requested}` : ''} stopped with an error`;
    default:
      return `${e.command} ${e.outcome}`;
  }
}
