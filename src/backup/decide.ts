import type { ContainerInfo, MountInfo } from '../docker-api.js';
import type { BackupSettings, PostgresUrl } from '../settings.js';

export type DatabaseTarget =
  | { kind: 'none' }
  /** `running: false`: read through a helper container that mounts the stopped service's volumes. */
  | { kind: 'sqlite'; containerId: string; running: boolean; path: string }
  | { kind: 'postgres'; via: 'postgres-service'; containerId: string; service: string }
  | { kind: 'postgres'; via: 'database-url'; url: PostgresUrl };

export type DatabaseDecision = { ok: true; target: DatabaseTarget } | { ok: false; why: string };

/**
 * Which database to back up. `auto` never settles for "nothing": a medical app without a database
 * backup is exactly the failure this tool exists to prevent, so finding none is an error unless
 * `database: none` says so.
 */
export function decideDatabase(
  b: BackupSettings,
  app: ContainerInfo | null,
  postgres: ContainerInfo | null,
  sqliteExists: boolean,
): DatabaseDecision {
  const runningPg = postgres?.running ? postgres : null;
  const viaPostgres = (): DatabaseDecision => {
    if (b.databaseUrl)
      return { ok: true, target: { kind: 'postgres', via: 'database-url', url: b.databaseUrl } };
    if (runningPg) {
      return {
        ok: true,
        target: {
          kind: 'postgres',
          via: 'postgres-service',
          containerId: runningPg.id,
          service: b.postgresService,
        },
      };
    }
    return {
      ok: false,
      why: `database is postgres but the compose service '${b.postgresService}' has no running container and database-url is empty`,
    };
  };
  const viaSqlite = (): DatabaseDecision => {
    if (!app)
      return {
        ok: false,
        why: 'the SQLite database is read through the app service, which has no container',
      };
    if (!sqliteExists) {
      return {
        ok: false,
        why: `no SQLite database at ${b.sqlitePath} in container ${app.name} (sqlite-path)`,
      };
    }
    return {
      ok: true,
      target: { kind: 'sqlite', containerId: app.id, running: app.running, path: b.sqlitePath },
    };
  };
  switch (b.database) {
    case 'none':
      return { ok: true, target: { kind: 'none' } };
    case 'postgres':
      return viaPostgres();
    case 'sqlite':
      return viaSqlite();
    case 'auto':
      if (b.databaseUrl || runningPg) return viaPostgres();
      if (app && sqliteExists) return viaSqlite();
      return {
        ok: false,
        why:
          `no database found: no database-url, no running '${b.postgresService}' service, and no SQLite file at ` +
          `${b.sqlitePath} in the app container. Set database (sqlite | postgres) and its location, or ` +
          'database: none to back up without the database',
      };
  }
}

/** The named volume holding a file at `path`, judged by the deepest mount that contains it. */
export function volumeHolding(mounts: readonly MountInfo[], path: string): MountInfo | null {
  const holders = mounts.filter(
    (m) => path === m.destination || path.startsWith(`${m.destination.replace(/\/$/, '')}/`),
  );
  return holders.sort((a, b) => b.destination.length - a.destination.length)[0] ?? null;
}

/**
 * `auto`: every named volume the service mounts, except the one holding the SQLite file — that one is
 * copied through the backup API, and a raw archive of a live database file would be inconsistent.
 */
export function autoVolumes(mounts: readonly MountInfo[], sqlitePath: string | null): MountInfo[] {
  const sqliteVolume = sqlitePath ? volumeHolding(mounts, sqlitePath) : null;
  return mounts.filter((m) => m.type === 'volume' && m.name && m.name !== sqliteVolume?.name);
}

/** Names as written in compose (`media_files`) or as Docker knows them (`eqmd-a_media_files`). */
export function volumeCandidates(project: string, name: string): string[] {
  return name.startsWith(`${project}_`) ? [name] : [`${project}_${name}`, name];
}
