import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '@actions/core';
import { uploadFiles } from '../artifact.js';
import { runUrl } from '../report/deployment-plan.js';
import { rolledBack, type RunEvent } from '../report/event.js';
import { incidentNote } from '../report/incident.js';
import type { ArtifactRef, Where } from '../report/reporter.js';
import type { Settings } from '../settings.js';

/** What a deploy, rollback or verification leaves to report once the host is released. */
export type Outcome = { event: RunEvent; where: Where } | undefined;

export interface Uploaded {
  /** A sentence for the step summary. */
  text: string;
  artifact: ArtifactRef | null;
}

export async function upload(
  settings: Settings,
  defaultName: string,
  dir: string,
  files: string[],
): Promise<Uploaded> {
  if (!settings.output.uploadArtifact)
    return { text: 'Artifact upload is off (upload-artifact: false).', artifact: null };
  const name = settings.output.artifactName || defaultName;
  const result = await uploadFiles({
    name,
    files,
    rootDir: dir,
    retentionDays: settings.output.artifactRetentionDays,
  });
  if (result.uploaded) {
    core.setOutput('artifact-id', String(result.id));
    core.info(`uploaded artifact ${name} (id ${result.id}, ${result.size} bytes)`);
    return { text: `Manifest uploaded as artifact **${name}**.`, artifact: { name, id: result.id } };
  }
  // The backup itself succeeded; a missing upload must be visible but must not undo that.
  core.warning(`artifact not uploaded: ${result.reason}`);
  return { text: `Artifact not uploaded: ${result.reason}.`, artifact: null };
}

/** When a rollback happened, the incident note goes into the artifact beside the manifest. */
export function writeIncident(
  settings: Settings,
  e: RunEvent,
  dir: string,
  artifactName: string,
  files: string[],
): void {
  if (!rolledBack(e)) return;
  const path = join(dir, 'incident.md');
  writeFileSync(
    path,
    incidentNote(e, {
      at: new Date().toISOString(),
      runUrl: runUrl(settings.run),
      actor: settings.run.actor,
      repository: settings.run.repository,
      environment: settings.report.environment,
      projectDir: settings.app.projectDir,
      artifactName: settings.output.artifactName || artifactName,
    }),
  );
  files.push(path);
  core.info(`incident note written: ${path}`);
}
