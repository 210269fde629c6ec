import type { TrafficReport } from '../../deploy/result.js';
import type { MigrationReport } from '../../migrations/classify.js';

export type SwitchMode = TrafficReport['switch'];

/**
 * Pure: may the new version start beside the running one? Both then share the database, so only when
 * the running version keeps working on the new schema (nothing to apply, or only compatible
 * migrations); otherwise the running version stops first and requests are held through the switch.
 */
export function switchMode(m: MigrationReport | null): { mode: SwitchMode; why: string } {
  if (!m)
    return {
      mode: 'held',
      why: 'the migrations could not be classified, so the two versions may not share the database',
    };
  if (m.class === 'none') return { mode: 'beside', why: 'the release applies no migration' };
  if (m.class === 'compatible')
    return {
      mode: 'beside',
      why: 'its migrations are compatible: the running version keeps working on the new schema',
    };
  return {
    mode: 'held',
    why: `its migrations are ${m.class}: the running version stops before they run, and requests wait at the proxy meanwhile`,
  };
}
