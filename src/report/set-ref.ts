import type { SetOnHost } from '../restore/plan.js';

/** A set as the reports name it: its id, and where it is on the host. */
export interface SetRef {
  id: string;
  dir: string;
}

export const setRef = (s: SetOnHost): SetRef => ({ id: s.manifest.id, dir: s.dir });
