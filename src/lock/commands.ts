import type { Step } from '../backup/steps.js';
import { bashScript, quote } from '../shell.js';

/** The lock of one compose project: a directory, because mkdir is atomic on every filesystem. */
export function lockDir(projectDir: string): string {
  return `${projectDir}/.eqmd-rollback.lock`;
}

/**
 * Takes the lock if it is free; otherwise reports who holds it and whether the holder's keeper process
 * still exists. Lock files are world-readable on purpose: another deploy user must be able to say who
 * holds it. The token proves ownership on release.
 */
export function acquireStep(dir: string, token: string, owner: string): Step {
  return {
    title: `Take the host lock ${dir}`,
    // The lock appears whole or not at all: made complete under a temporary name, then renamed onto
    // the lock's name (rename fails while a lock with content is there). A lock directory without its
    // token, which nobody could release, cannot come from an interrupted acquire.
    command: bashScript(
      [
        'd=$1 owner=$2 token=$3',
        'new="$d.new.$$"',
        `trap 'rm -rf -- "$new"' EXIT`,
        'mkdir -m 755 "$new"',
        `printf '%s\\n' "$owner" > "$new/owner.json"`,
        `printf '%s\\n' "$token" > "$new/token"`,
        'chmod 644 "$new/owner.json" "$new/token"',
        'if [ ! -e "$d" ] && mv -T "$new" "$d" 2>/dev/null; then',
        '  echo state=acquired',
        // Ours now: what interrupted releases and acquires left beside it is garbage.
        '  rm -rf -- "$d".released.* 2>/dev/null || true',
        `  find "$(dirname "$d")" -maxdepth 1 -name "$(basename "$d").new.*" -mmin +1 -exec rm -rf -- {} + 2>/dev/null || true`,
        'else',
        '  echo state=held',
        '  echo "owner=$(tr -d \'\\n\' < "$d/owner.json" 2>/dev/null || true)"',
        '  echo "age_s=$(( $(date +%s) - $(stat -c %Y "$d" 2>/dev/null || date +%s) ))"',
        '  pid=$(cat "$d/pid" 2>/dev/null || true)',
        // /proc, not kill -0: the holder may be another user, and kill -0 then fails although it lives.
        '  if [ -z "$pid" ]; then echo keeper=none; elif [ -d "/proc/$pid" ]; then echo keeper=alive; else echo keeper=gone; fi',
        'fi',
      ],
      [dir, owner, token],
    ),
  };
}

/**
 * Runs for as long as this run's SSH connection lives: it records its PID in the lock and exits when
 * the channel closes (stdin EOF) or the lock is no longer ours. A run that dies leaves a lock whose
 * keeper is gone: detectable as stale instead of looking held forever.
 */
export function keeperCommand(dir: string, token: string): string {
  return bashScript([
    `d=${quote(dir)}`,
    // Only into a lock that is still ours: a keeper that starts late must not write into a lock being
    // released (its pid file kept the directory from going) or taken by another run.
    `[ "$(cat "$d/token" 2>/dev/null)" = ${quote(token)} ] || exit 0`,
    'echo $$ > "$d/pid"',
    'chmod 644 "$d/pid"',
    'while :; do',
    // read's status: >128 is the 1 s timeout (keep going), anything else is EOF: the connection ended.
    '  if read -t 1 -r _; then :; else rc=$?; [ "$rc" -gt 128 ] || exit 0; fi',
    `  [ "$(cat "$d/token" 2>/dev/null)" = ${quote(token)} ] || exit 0`,
    'done',
  ]);
}

/**
 * Releases the lock only if it is still ours, in one rename: a release cut short leaves either the
 * whole lock (which the post step releases) or none, never a directory without its token (which
 * nobody could release: a fresh seed of the kill-at-random suite found one left by a late keeper).
 */
export function releaseStep(dir: string, token: string): Step {
  return {
    title: 'Release the host lock',
    command: bashScript(
      [
        'd=$1',
        'if [ "$(cat "$d/token" 2>/dev/null)" = "$2" ] && mv -T "$d" "$d.released.$$"; then',
        '  rm -rf -- "$d.released.$$"',
        '  echo state=released',
        'else echo state=not-ours; fi',
      ],
      [dir, token],
    ),
  };
}

/** Whether the lock still holds this token (state=ours|not-ours). */
export function lockOwnedStep(dir: string, token: string): Step {
  return {
    title: 'Check the host lock is still ours',
    command: bashScript([
      `if [ "$(cat ${quote(`${dir}/token`)} 2>/dev/null)" = ${quote(token)} ]; then echo state=ours; else echo state=not-ours; fi`,
    ]),
  };
}

/** Removes a lock judged stale, only if it is still the same lock (same token) that was judged. */
export function breakStaleStep(dir: string): Step {
  return {
    title: 'Break the stale host lock (break-stale-lock: true)',
    command: bashScript([
      `d=${quote(dir)}`,
      'pid=$(cat "$d/pid" 2>/dev/null || true)',
      'if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then echo "the holder came back to life" >&2; exit 3; fi',
      // One rename, as in a release: a break cut short leaves the stale lock or nothing.
      'mv -T "$d" "$d.released.$$"',
      'rm -rf -- "$d.released.$$"',
    ]),
  };
}
