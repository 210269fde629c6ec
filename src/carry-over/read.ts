import * as v from 'valibot';
import { parseHostJson } from '../host-json.js';

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
/** Table names as SQLite's catalog has them: the report comes from the host, it is data. */
const table = v.pipe(v.string(), v.regex(/^(?!__)[A-Za-z0-9_.$-]{1,128}$/, 'a table name'));

const reportSchema = v.strictObject({
  tables: v.pipe(
    v.record(table, v.strictObject({ inserted: count, updated: count, deleted: count, listed: count })),
    v.check((r) => Object.keys(r).length <= 2000, 'at most 2000 tables'),
  ),
  listed: v.array(
    v.strictObject({
      table,
      key: v.nullable(v.union([v.string(), v.number()])),
      reason: v.pipe(v.string(), v.maxLength(1000)),
    }),
  ),
});

export type CarryOverCounts = Record<
  string,
  { inserted: number; updated: number; deleted: number; listed: number }
>;

/** The counts of the carry-over's report (its last output line), validated; the keys stay on the host. */
export function readCarryOver(
  output: string,
): { ok: true; tables: CarryOverCounts; listed: number } | { ok: false; why: string } {
  const line = output.trim().split('\n').pop() ?? '';
  const parsed = parseHostJson(line);
  if (!parsed.ok) return { ok: false, why: 'the carry-over printed no report' };
  const json = parsed.value;
  const r = v.safeParse(reportSchema, json);
  if (!r.success) return { ok: false, why: `the carry-over report is malformed: ${r.issues[0].message}` };
  return { ok: true, tables: r.output.tables, listed: r.output.listed.length };
}
