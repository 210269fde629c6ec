/**
 * Run by the new image's Django (`manage.py shell -c`) in a throwaway container: prints, on one line
 * after a marker, the migrations it would apply with each operation's type, whether Django can reverse
 * it and (field operations) whether the field is nullable or has a database default; per app the
 * last applied migration it knows (one a kept release applied and this image lacks is not a state to
 * return to); and the way back: the migrations that migrating each app back to that state
 * would undo once the release is applied, each with whether Django can reverse all of it. It only reads: the loader reads django_migrations and creates nothing. The
 * text is constant; its output is validated like any data from the host.
 */
export const MIGRATION_FACTS_PY = `import json
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations.fields import FieldOperation
from django.db.migrations.operations.special import SeparateDatabaseAndState
from django.db.models.fields import NOT_PROVIDED


def describe(op):
    if isinstance(op, SeparateDatabaseAndState):
        return [d for o in op.database_operations for d in describe(o)]
    d = {'op': type(op).__name__, 'reversible': bool(getattr(op, 'reversible', False))}
    field = getattr(op, 'field', None) if isinstance(op, FieldOperation) else None
    if field is not None:
        d['null'] = bool(field.null)
        d['dbDefault'] = getattr(field, 'db_default', NOT_PROVIDED) is not NOT_PROVIDED
    return [d]


connection = connections[DEFAULT_DB_ALIAS]
executor = MigrationExecutor(connection)
graph = executor.loader.graph
applied = set(executor.loader.applied_migrations)
leaves = {}
for app, name in sorted(applied):
    node = graph.node_map.get((app, name))
    # Applied but unknown to this image (a kept compatible release's): not a state it can return to.
    if node is None:
        continue
    if not any(c[0] == app and c in applied for c in node.children):
        leaves.setdefault(app, []).append(name)
plan = executor.migration_plan(graph.leaf_nodes())
forward = [m for m, backwards in plan if not backwards]
# The way back, as Django would take it once the release is applied: what migrating each app to its
# recorded state undoes (nothing is run; the loader's state is only pretended).
pretended = dict(executor.loader.applied_migrations)
for m in forward:
    pretended[(m.app_label, m.name)] = m
executor.loader.applied_migrations = pretended
targets = [(app, (leaves.get(app) or [None])[0]) for app in sorted({m.app_label for m in forward})
           if len(leaves.get(app, [])) <= 1]
back = executor.migration_plan(targets) if targets else []
print('eqmd-migrations=' + json.dumps({
    'vendor': connection.vendor,
    'applied': leaves,
    # Recorded as applied, but this image has no file for them: after a migrate-back, those of the
    # release must not be here (an image that lacks them cannot have undone them). At most what the
    # reader accepts: a host with more (old files deleted after squashing) still gets its facts.
    'unknown': [{'app': app, 'name': name} for app, name in sorted(applied)
                if (app, name) not in graph.node_map][:2000],
    'plan': [
        {'app': m.app_label, 'name': m.name, 'operations': [d for op in m.operations for d in describe(op)]}
        for m in forward
    ],
    'back': [
        {'app': m.app_label, 'name': m.name,
         'reversible': all(d['reversible'] for op in m.operations for d in describe(op))}
        for m, backwards in back if backwards
    ],
}, separators=(',', ':'), sort_keys=True))
`;

/**
 * Run by the image of the release rolled back from (it has the migration files): migrates each app
 * named in EQMD_MIGRATE_BACK_TO (`app:migration` words, validated names; `zero` for none) back, then
 * prints a marker. Constant text; the targets are data in the environment, never in the code.
 */
export const MIGRATE_BACK_PY = `import os
from django.core.management import call_command

for target in os.environ['EQMD_MIGRATE_BACK_TO'].split():
    app, name = target.split(':', 1)
    call_command('migrate', app, name, interactive=False, verbosity=1)
print('eqmd-migrated-back=ok')
`;
