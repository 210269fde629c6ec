/** What the acquire step reported when the lock was held. */
export interface HeldLock {
  owner: string;
  ageSeconds: number;
  keeper: 'alive' | 'gone' | 'none';
}

export type LockVerdict = { kind: 'wait' } | { kind: 'stale'; why: string };

/**
 * A holder whose keeper process is gone died without releasing. A lock with no keeper at all (taken by
 * hand, or a run that died before starting its keeper) is stale once older than the command timeout.
 */
export function judgeHeldLock(held: HeldLock, commandTimeoutSeconds: number): LockVerdict {
  if (held.keeper === 'gone')
    return { kind: 'stale', why: 'its holder process no longer exists on the host' };
  if (held.keeper === 'none' && held.ageSeconds > commandTimeoutSeconds) {
    return {
      kind: 'stale',
      why: `it has no holder process and is ${held.ageSeconds} s old (more than command-timeout ${commandTimeoutSeconds} s)`,
    };
  }
  return { kind: 'wait' };
}

export function describeOwner(ownerJson: string): string {
  try {
    const o = JSON.parse(ownerJson) as Record<string, string>;
    const run = o.runUrl || (o.runId ? `run ${o.runId}` : 'a run');
    return `${o.command ?? 'an operation'} by ${o.actor || 'unknown'} (${o.repository || 'unknown repository'}, ${run}) since ${o.started ?? 'unknown time'}`;
  } catch {
    return ownerJson
      ? `an unreadable owner record (${ownerJson.slice(0, 80)})`
      : 'an owner that left no record (taken by hand?)';
  }
}
