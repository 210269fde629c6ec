import { RefusedError } from '../errors.js';
import type { Manifest } from '../manifest.js';
import type { Settings } from '../settings.js';
import { APP_PARTS, type RestoreParts } from './plan.js';

/** Which parts of a set each scope puts back. */
export function partsFor(
  scope: Settings['rollback']['scope'],
  m: Manifest,
  staticPath: string,
): RestoreParts {
  const all = m.volumes.map((v) => v.name);
  switch (scope) {
    case 'app':
      return APP_PARTS;
    case 'database':
      return { app: false, database: 'always', volumes: [] };
    case 'static': {
      const v = m.volumes.find((x) => x.mountpoint.replace(/\/$/, '') === staticPath.replace(/\/$/, ''));
      if (!v)
        throw new RefusedError(
          `backup set ${m.id} has no volume mounted at static-path ${staticPath} (it has: ${m.volumes.map((x) => `${x.name} at ${x.mountpoint || '?'}`).join(', ') || 'none'})`,
        );
      return { app: false, database: 'no', volumes: [v.name] };
    }
    case 'volumes':
      return { app: false, database: 'no', volumes: all };
    case 'full':
      return { app: true, database: 'always', volumes: all };
  }
}
