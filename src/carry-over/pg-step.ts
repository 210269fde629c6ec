import type { Step } from '../backup/steps.js';
import { pgPrelude, pgStdin, type PgTarget } from '../restore/postgres.js';
import { bashScript } from '../shell.js';
import { PG_CARRY_OVER_EXPORT_SQL } from './pg-export.js';
import { PG_CARRY_OVER_SQL } from './pg-script.js';
import { carryOutcomeLines } from './step.js';

const COPY_LINE = '\\copy eqmd_carry.stream FROM pstdin';
/**
 * The carry SQL around its `\copy`: psql reads the script and the stream from one stdin, so the
 * stream goes between the two halves, ended by `\.` (a data line is never `\.`: COPY escapes `\`).
 */
const at = PG_CARRY_OVER_SQL.indexOf(COPY_LINE);
if (at < 0) throw new Error('PG_CARRY_OVER_SQL has no \\copy of the stream');
const HEAD = PG_CARRY_OVER_SQL.slice(0, at + COPY_LINE.length);
const TAIL = PG_CARRY_OVER_SQL.slice(at + COPY_LINE.length + 1);

/**
 * Carries the writes made since the set from the live (replaced) PostgreSQL database into the
 * restored one before it is swapped in: the export of the live one streams, on the host, into the
 * carry-over's one transaction in the restored one (see pg-script.ts). A kill before the swap leaves
 * the live database as it was (the restored one is made again by the re-run). A failed carry-over
 * leaves the restored database as restored and says why on a `carry_failed=` line (PostgreSQL's first
 * ERROR line, never its DETAIL: that quotes row values). $1: the report, kept on the host, mode 0600.
 */
export function pgCarryOverStep(t: PgTarget, report: string): Step {
  return {
    title: 'Carry the writes made since the set over into the restored PostgreSQL database',
    command: bashScript(
      [
        ...pgPrelude(t),
        'new="${db}_eqmd_restore"',
        'install -m 600 /dev/null "$1.part"',
        'stream() {',
        `  cat <<'SQL'\n${HEAD}\nSQL`,
        // Cut short, the stream ends without the carry's second half: its transaction never commits.
        `  pg psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL' || exit 1\n${PG_CARRY_OVER_EXPORT_SQL}\nSQL`,
        "  printf '%s\\n' '\\.'",
        `  cat <<'SQL'\n${TAIL}\nSQL`,
        '}',
        'if err=$(stream | pg psql -X -q -v ON_ERROR_STOP=1 -At -d "$new" 2>&1 >"$1.part"); then',
        ...carryOutcomeLines(
          '"$1.part"',
          '"$1"',
          `$(printf '%s\\n' "$err" | grep -m 1 'ERROR:' | sed 's/^.*ERROR: *//' || true)`,
          'the replaced database could not be read',
        ),
      ],
      [report],
    ),
    ...pgStdin(t),
  };
}
