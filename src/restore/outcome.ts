/**
 * What became of each part a restore was to put back, as values: the reports decide from these (was data
 * put back? is the rollback incomplete?) and only the presenters below turn them into sentences.
 */
export type PartOutcome =
  | { part: 'env-file'; status: 'restored'; file: string; from: string }
  | { part: 'image'; status: 'restored'; reference: string; imageId: string }
  /** A rollback to a named version: its image pulled and the env file made to name it. */
  | { part: 'version'; status: 'restored'; reference: string }
  /** `account`: the restore's own account (engine, file, tables verified, where the replaced data is). */
  | { part: 'database'; status: 'restored'; account: string }
  | { part: 'volume'; status: 'restored'; name: string; from: string; entries: number }
  /** The writes made since the set, brought into the restored database; the rest listed on the host. */
  | {
      part: 'carry-over';
      status: 'restored';
      from: string;
      tables: Record<string, { inserted: number; updated: number; deleted: number; listed: number }>;
      listed: number;
      report: string;
    }
  /** The release's migrations undone with its own image: the rows stay (no data put back). */
  | { part: 'schema'; status: 'restored'; to: string[]; by: string }
  /** skipped: decided not to (with why); failed: wanted and not done (with why): the rollback is incomplete. */
  | { part: 'database' | 'volume' | 'carry-over'; status: 'skipped' | 'failed'; name: string; why: string };

/** Data (the database or a volume) was put back: writes made since the set are no longer live. */
export const putBackData = (parts: readonly PartOutcome[]): boolean =>
  parts.some((p) => p.status === 'restored' && (p.part === 'database' || p.part === 'volume'));

/** The carry-over that brought the writes made since the set into the restored database, if one did. */
export const carriedOver = (
  parts: readonly PartOutcome[],
): Extract<PartOutcome, { part: 'carry-over'; status: 'restored' }> | null =>
  parts.find(
    (p): p is Extract<PartOutcome, { part: 'carry-over'; status: 'restored' }> =>
      p.part === 'carry-over' && p.status === 'restored',
  ) ?? null;

/** Rows the carry-over inserted, updated or deleted. */
export const rowsCarried = (p: Extract<PartOutcome, { part: 'carry-over'; status: 'restored' }>): number =>
  Object.values(p.tables).reduce((n, t) => n + t.inserted + t.updated + t.deleted, 0);

export const failedParts = (parts: readonly PartOutcome[]): PartOutcome[] =>
  parts.filter((p) => p.status === 'failed');

/** The restored parts, a sentence each. */
export function restoredLines(parts: readonly PartOutcome[]): string[] {
  return parts.flatMap((p) => {
    if (p.status !== 'restored') return [];
    switch (p.part) {
      case 'env-file':
        return [`env file ${p.file} from ${p.from}`];
      case 'image':
        return [
          `image ${p.reference} (${p.imageId.replace(/^sha256:/, '').slice(0, 12)}) from its backup tag`,
        ];
      case 'version':
        return [`image ${p.reference} (pulled), env file updated`];
      case 'database':
        return [p.account];
      case 'volume':
        return [`volume ${p.name} from ${p.from} (${p.entries} entries)`];
      case 'carry-over': {
        const t = Object.entries(p.tables)
          .filter(([, c]) => c.inserted + c.updated + c.deleted > 0)
          .map(([name, c]) => `${name} ${c.inserted} inserted, ${c.updated} updated, ${c.deleted} deleted`);
        return [
          `writes made since ${p.from} carried over: ${t.join('; ') || 'none to carry'}` +
            (p.listed ? `; ${p.listed} not carried, listed with the reason in ${p.report} on the host` : ''),
        ];
      }
      case 'schema':
        return [
          `schema migrated back to ${p.to.join(', ')} with ${p.by}: every record kept (values in columns the previous version never had are in the pre-restore snapshot)`,
        ];
    }
  });
}

/** The parts not put back, a sentence each (NOT in capitals when the rollback is incomplete). */
export function partNotes(parts: readonly PartOutcome[]): string[] {
  return parts.flatMap((p) =>
    p.status === 'restored'
      ? []
      : [
          p.part === 'carry-over'
            ? `writes made since the set ${p.status === 'failed' ? 'NOT' : 'not'} carried over (they are in the pre-restore snapshot): ${p.why}`
            : `${p.part === 'volume' ? `volume ${p.name}` : 'database'} ${p.status === 'failed' ? 'NOT' : 'not'} restored: ${p.why}`,
        ],
  );
}

/** The parts as the reports show them: the restored ones, and the notes with the parts not put back. */
export function partsAccount(
  parts: readonly PartOutcome[],
  notes: readonly string[],
): { restored: string[]; notes: string[] } {
  return { restored: restoredLines(parts), notes: [...notes, ...partNotes(parts)] };
}

/**
 * For records with little room (a deployment's payload and status): what became of the database, and
 * the carry-over's counts only (the keys stay in the report on the host). '' for a part not in play.
 */
export function databaseRecord(parts: readonly PartOutcome[]): {
  database: string;
  carryOver: string;
  /** The carry-over in a few words: `7 rows carried, 1 listed`. */
  carried: string;
} {
  const schema = parts.find((p) => p.part === 'schema' && p.status === 'restored');
  const db = parts.find((p) => p.part === 'database');
  const carry = parts.find((p) => p.part === 'carry-over');
  const carried = carriedOver(parts);
  const database = schema
    ? 'kept, migrated back'
    : !db
      ? ''
      : db.status === 'restored'
        ? 'restored'
        : db.status === 'skipped'
          ? 'kept'
          : 'NOT restored';
  if (carried) {
    const sum = (k: 'inserted' | 'updated' | 'deleted') =>
      Object.values(carried.tables).reduce((n, t) => n + t[k], 0);
    const [i, u, d] = [sum('inserted'), sum('updated'), sum('deleted')];
    return {
      database,
      carryOver: `${i} inserted, ${u} updated, ${d} deleted, ${carried.listed} listed`,
      carried: `${i + u + d} rows carried, ${carried.listed} listed`,
    };
  }
  const carryOver = !carry ? '' : carry.status === 'failed' ? 'failed' : 'not run';
  return { database, carryOver, carried: carryOver && `carry-over ${carryOver}` };
}
