import * as v from 'valibot';
import { MIGRATION_CLASSES } from './classify.js';

/**
 * App labels, migration names (module names such as 0002_patient_ward) and operation class names:
 * word characters only. Never a dunder name: `applied` is a record keyed by app label, and a key
 * `__proto__` would set the parsed object's prototype.
 */
export const MIGRATION_NAME = /^(?!__)[A-Za-z0-9_]{1,100}$/;
export const migrationName = v.pipe(
  v.string(),
  v.regex(MIGRATION_NAME, 'letters, digits and _ (not starting with __)'),
);

/** Per app, the last applied migration(s). */
export const appliedSchema = v.pipe(
  v.record(migrationName, v.pipe(v.array(migrationName), v.maxLength(20))),
  v.check((r) => Object.keys(r).length <= 500, 'at most 500 apps'),
);

const migrationClass = v.picklist(MIGRATION_CLASSES);

/** A classification as a manifest records it (the pre-deploy set of a deploy). */
export const migrationReportSchema = v.strictObject({
  class: migrationClass,
  applied: appliedSchema,
  pending: v.pipe(
    v.array(
      v.strictObject({
        app: migrationName,
        name: migrationName,
        class: migrationClass,
        operations: v.pipe(
          v.array(v.strictObject({ op: migrationName, class: migrationClass })),
          v.maxLength(1000),
        ),
      }),
    ),
    v.maxLength(2000),
  ),
  reverse: v.optional(
    v.strictObject({
      proven: v.boolean(),
      // Written by this action from validated names; read back like any host text: no `::`.
      why: v.pipe(
        v.string(),
        v.maxLength(1000),
        v.regex(/^[A-Za-z0-9_ .,;:()-]*$/, 'letters, digits and . , ; : ( ) - _ only'),
        v.check((s) => !s.includes('::'), 'no ::'),
      ),
    }),
  ),
});
