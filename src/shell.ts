/**
 * The one place where values become shell words. Remote commands are parsed by the remote login shell
 * (which may be dash), so only POSIX single quotes are used: `'` becomes `'\''`. Values are validated
 * against allowlists before they get here; quoting is the second line of defence, not the first.
 */
const SAFE_WORD = /^[A-Za-z0-9_/.,:=@%+-]+$/;

export function quote(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one command line, quoting every word. */
export function argv(...words: string[]): string {
  return words.map(quote).join(' ');
}

/**
 * Wraps a script so it runs under bash with `set -euo pipefail`: the exit status tells the truth even
 * inside pipelines (dash has no pipefail). `umask 077` because backups hold medical data and secrets.
 */
export function bashScript(lines: readonly string[]): string {
  const body = ['set -euo pipefail', 'export LC_ALL=C', 'umask 077', ...lines].join('\n');
  return `bash -c ${quote(body)}`;
}
