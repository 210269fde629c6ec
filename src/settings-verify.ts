/** What `verify` (and every switch) checks, and where it asks for health. Part of settings.ts. */

export interface HealthUrl {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
  /** Path and query, e.g. /health/. */
  path: string;
  /**
   * Ask each container directly on this port, at its own network address, instead of host:port
   * (strategy zero-downtime: the URL names the proxy, which may be holding requests).
   */
  containerPort?: number;
}

export interface VerifySettings {
  health: HealthUrl;
  healthTimeoutMs: number;
  healthIntervalMs: number;
  /** Run in the service container; '' skips the check. */
  dbCheckCommand: string;
  staticFiles: string[];
  staticPath: string;
  smokeCommands: string[];
}
