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
    command: bashScript([
      `d=${quote(dir)}`,
      'if mkdir -m 755 "$d" 2>/dev/null; then',
      `  printf '%s\\n' ${quote(owner)} > "$d/owner.json"`,
      `  printf '%s\\n' ${quote(token)} > "$d/token"`,
      '  chmod 644 "$d/owner.json" "$d/token"',
      '  echo state=acquired',
      'else',
      '  echo state=held',
      '  echo "owner=$(tr -d \'\\n\' < "$d/owner.json" 2>/dev/null || true)"',
      '  echo "age_s=$(( $(date +%s) - $(stat -c %Y "$d") ))"',
      '  pid=$(cat "$d/pid" 2>/dev/null || true)',
      // /proc, not kill -0: the holder may be another user, and kill -0 then fails although it lives.
      '  if [ -z "$pid" ]; then echo keeper=none; elif [ -d "/proc/$pid" ]; then echo keeper=alive; else echo keeper=gone; fi',
      'fi',
    ]),
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
    'echo $$ > "$d/pid"',
    'chmod 644 "$d/pid"',
    'while :; do',
    // read's status: >128 is the 1 s timeout (keep going), anything else is EOF: the connection ended.
    '  if read -t 1 -r _; then :; else rc=$?; [ "$rc" -gt 128 ] || exit 0; fi',
    `  [ "$(cat "$d/token" 2>/dev/null)" = ${quote(token)} ] || exit 0`,
    'done',
  ]);
}

/** Releases the lock only if it is still ours. */
export function releaseStep(dir: string, token: string): Step {
  return {
    title: 'Release the host lock',
    command: bashScript([
      `d=${quote(dir)}`,
      `if [ "$(cat "$d/token" 2>/dev/null)" = ${quote(token)} ]; then rm -rf -- "$d"; echo state=released; else echo state=not-ours; fi`,
    ]),
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
      'rm -rf -- "$d"',
    ]),
  };
}
