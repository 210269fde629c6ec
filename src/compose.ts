import { argv, quote } from './shell.js';

export type ComposeFlavor = 'v1' | 'v2';

export interface ComposeTarget {
  flavor: ComposeFlavor;
  projectDir: string;
  composeFile: string;
  /** '' = compose's own default. */
  project: string;
  envFile: string;
}

/** `docker compose …` or `docker-compose …` with the project's file, name and env file; the caller cds first. */
export function composeArgv(t: ComposeTarget, ...args: string[]): string[] {
  const base = t.flavor === 'v2' ? ['docker', 'compose'] : ['docker-compose'];
  const project = t.project ? ['-p', t.project] : [];
  // `.env` is read by compose by default; any other file must be named or substitution silently differs.
  const envFile = t.envFile === '.env' ? [] : ['--env-file', t.envFile];
  return [...base, '-f', t.composeFile, ...project, ...envFile, ...args];
}

export function composeLine(t: ComposeTarget, ...args: string[]): string {
  return `cd ${quote(t.projectDir)} && ${argv(...composeArgv(t, ...args))}`;
}

/** Resolves a path given relative to the project directory. */
export function inProject(projectDir: string, path: string): string {
  return path.startsWith('/') ? path : `${projectDir}/${path}`;
}
