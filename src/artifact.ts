// Upload edge: hands files to GitHub's artifact service. The upload is a convenience, never the job's
// purpose, so every failure comes back as a value and the caller decides whether it deserves a warning.

import type { UploadArtifactOptions } from '@actions/artifact';

type ClientModule = typeof import('./artifact-client.js');

/**
 * The client, loaded when a run uploads: built, it is dist/artifact/index.js beside this bundle (never
 * compiled by a run that does not upload); run from source (tests), the module itself.
 */
async function loadClient(): Promise<ClientModule> {
  // Paths built at run time, and webpackIgnore: the bundler takes neither for a module or an asset to
  // pull into the main bundle, and leaves the import to Node.
  const path = import.meta.url.endsWith('.ts') ? ['.', 'artifact-client.ts'] : ['.', 'artifact', 'index.js'];
  const url = new URL(path.join('/'), import.meta.url).href;
  return (await import(/* webpackIgnore: true */ url)) as ClientModule;
}

export type UploadResult =
  { uploaded: true; id: number; size: number; name: string } | { uploaded: false; reason: string };

// The runner injects these into JavaScript actions; without them the client cannot even start.
const REQUIRED_ENV = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL'] as const;

// The artifacts are small JSON files: the best zlib level costs nothing noticeable and shrinks them most.
const COMPRESSION_LEVEL = 9;

export async function uploadFiles(opts: {
  name: string;
  files: string[];
  rootDir: string;
  retentionDays: number; // 0 = repository default
}): Promise<UploadResult> {
  // Checked here rather than left to the client, so a local run gets a plain sentence instead of
  // the client's stack of retries and warnings.
  const missing = REQUIRED_ENV.filter((v) => !process.env[v]);
  if (missing.length > 0) {
    return {
      uploaded: false,
      reason: `not running in GitHub Actions (${missing.join('/')} unset): the files are kept in ${opts.rootDir}`,
    };
  }

  const options: UploadArtifactOptions = { compressionLevel: COMPRESSION_LEVEL };
  // Leaving retentionDays out lets the repository's setting apply; the client itself lowers larger values
  // to the repository maximum (GITHUB_RETENTION_DAYS) with a warning.
  if (opts.retentionDays > 0) options.retentionDays = opts.retentionDays;

  try {
    const { DefaultArtifactClient } = await loadClient();
    const res = await new DefaultArtifactClient().uploadArtifact(
      opts.name,
      opts.files,
      opts.rootDir,
      options,
    );
    if (res.id === undefined) {
      return { uploaded: false, reason: `artifact ${opts.name}: the service returned no artifact id` };
    }
    return { uploaded: true, id: res.id, size: res.size ?? 0, name: opts.name };
  } catch (err) {
    return {
      uploaded: false,
      reason: `artifact ${opts.name}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}
