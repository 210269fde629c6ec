import type { Manifest } from './manifest.js';

/** The files a backup writes, and nothing else: no path can climb out of the set. */
export const FIXED_FILES: Record<string, Manifest['files'][number]['role']> = {
  env: 'env-file',
  'compose.yml': 'compose-file',
  'database.sqlite3': 'database',
  'database.dump': 'database',
};

export const listed = (m: Pick<Manifest, 'files'>, path: string): boolean =>
  m.files.some((f) => f.path === path);

/** Why the set's file list is not one a backup writes ('' when it is). */
export function filesProblem(m: Pick<Manifest, 'files' | 'volumes' | 'database'>): string {
  const paths = m.files.map((f) => f.path);
  if (new Set(paths).size !== paths.length) return 'a file listed twice';
  const wrongRole = m.files.find(
    (f) => f.role !== (FIXED_FILES[f.path] ?? (f.path.startsWith('volumes/') ? 'volume' : '')),
  );
  if (wrongRole) return `${wrongRole.path} with role ${wrongRole.role}`;
  if (!listed(m, 'env')) return 'no env file';
  if (m.database.kind !== 'none' && !listed(m, m.database.file)) return 'the database file is not listed';
  const volumeFiles = new Set(m.volumes.map((x) => x.file));
  const stray = m.files.find((f) => f.role === 'volume' && !volumeFiles.has(f.path));
  return stray ? `${stray.path} belongs to no volume` : '';
}
