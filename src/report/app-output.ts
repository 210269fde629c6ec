import type { AppOutput } from '../operations/verify.js';

/**
 * The app's own output of a failed verification (health body, check output, log lines) is medical
 * data until proven otherwise: by default it is kept on the host (in this run's set, readable by the
 * deploy user only) and on the runner, and only where it is kept is published. publish-app-output
 * opts in: then a capped text, with every known secret masked, goes into the reports too.
 */

/** Characters of app output a report carries at most when publishing is on. */
export const APP_OUTPUT_CAP = 4000;

export interface AppOutputRef {
  /** Where the full text is: in the run's set on the host, and on the runner. */
  keptAt: { path: string; on: 'host' | 'runner' }[];
  /** The published text ('' unless publish-app-output is true). */
  published: string;
}

/** One text for the file and, when published, the reports: a section per verification. */
export function appOutputText(parts: readonly { label: string; output: AppOutput }[]): string {
  const sections = parts.flatMap(({ label, output }) => {
    const lines: string[] = [];
    if (output.healthBody.trim()) lines.push('health answer body:', output.healthBody.trim(), '');
    for (const c of output.commands) lines.push(`output of ${c.check}:`, c.output.trim(), '');
    if (output.logTail.trim()) lines.push('container log, last lines:', output.logTail.trim(), '');
    return lines.length ? [`== ${label}`, ...lines] : [];
  });
  return sections.length
    ? [
        '# App output of a failed verification (eqmd-rollback). It may hold patient data.',
        '',
        ...sections,
      ].join('\n')
    : '';
}

/** Every secret (and each of its lines, as the runner masks them) replaced by ***. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const words = secrets
    .flatMap((s) => [s, ...s.split('\n').map((l) => l.trim())])
    .filter((w) => w.length >= 4)
    .sort((a, b) => b.length - a.length);
  return words.reduce((t, w) => t.split(w).join('***'), text);
}

/** What a report may carry when publishing is on: masked first, then capped. */
export function publishable(text: string, secrets: readonly string[]): string {
  const masked = maskSecrets(text, secrets);
  return masked.length > APP_OUTPUT_CAP
    ? `${masked.slice(0, APP_OUTPUT_CAP)}\n… (cut at ${APP_OUTPUT_CAP} characters; the whole text is where it is kept)`
    : masked;
}

/** Markdown lines for a summary or incident note. */
export function appOutputMarkdown(ref: AppOutputRef | null): string[] {
  if (!ref) return [];
  const where = ref.keptAt.map((k) => `\`${k.path}\` on the ${k.on}`).join(' and ');
  if (!ref.published)
    return [
      '',
      `The app's own output (health answer body, check output, log lines) is not published: it is kept in ${where}. ` +
        'Set `publish-app-output: true` to publish it (capped, secrets masked).',
    ];
  return [
    '',
    `<details><summary>app output (capped, secrets masked; the whole text is in ${where})</summary>`,
    '',
    '```',
    ref.published.replace(/```/g, "'''"),
    '```',
    '</details>',
  ];
}
