import * as v from 'valibot';
import type { MigrationFacts } from './classify.js';
import { appliedSchema, migrationName as identifier } from './schema.js';

const MARKER = 'eqmd-migrations=';
const factsSchema = v.strictObject({
  vendor: identifier,
  applied: appliedSchema,
  plan: v.pipe(
    v.array(
      v.strictObject({
        app: identifier,
        name: identifier,
        operations: v.pipe(
          v.array(
            v.strictObject({
              op: identifier,
              reversible: v.boolean(),
              null: v.optional(v.boolean()),
              dbDefault: v.optional(v.boolean()),
            }),
          ),
          v.maxLength(1000),
        ),
      }),
    ),
    v.maxLength(2000),
  ),
});

/**
 * The migration facts the classification step printed, validated: the line comes from the new image's
 * code, so it is data like any other from the host. Returns the reason when there is no valid line.
 */
export function readMigrationFacts(
  output: string,
): { ok: true; facts: MigrationFacts } | { ok: false; why: string } {
  const line = output.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) return { ok: false, why: 'the image printed no migration facts' };
  let json: unknown;
  try {
    json = JSON.parse(line.slice(MARKER.length), (key, value: unknown) => {
      // The schema's records would drop such a key without a word: it is refused instead.
      if (key === '__proto__') throw new RangeError('a __proto__ key');
      return value;
    });
  } catch (err) {
    return {
      ok: false,
      why:
        err instanceof RangeError
          ? 'the migration facts hold a __proto__ key'
          : 'the migration facts are not JSON',
    };
  }
  const r = v.safeParse(factsSchema, json);
  if (!r.success) {
    const i = r.issues[0];
    const where = i.path?.map((p) => String(p.key)).join('.') || 'facts';
    return { ok: false, why: `the migration facts are malformed at ${where}: ${i.message}` };
  }
  return { ok: true, facts: r.output };
}
