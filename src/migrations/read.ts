import * as v from 'valibot';
import { parseHostJson } from '../host-json.js';
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
  back: v.pipe(
    v.array(v.strictObject({ app: identifier, name: identifier, reversible: v.boolean() })),
    v.maxLength(2000),
  ),
  unknown: v.optional(
    v.pipe(v.array(v.strictObject({ app: identifier, name: identifier })), v.maxLength(2000)),
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
  const parsed = parseHostJson(line.slice(MARKER.length));
  if (!parsed.ok)
    return {
      ok: false,
      why: parsed.proto ? 'the migration facts hold a __proto__ key' : 'the migration facts are not JSON',
    };
  const json = parsed.value;
  const r = v.safeParse(factsSchema, json);
  if (!r.success) {
    const i = r.issues[0];
    const where = i.path?.map((p) => String(p.key)).join('.') || 'facts';
    return { ok: false, why: `the migration facts are malformed at ${where}: ${i.message}` };
  }
  return { ok: true, facts: r.output };
}
