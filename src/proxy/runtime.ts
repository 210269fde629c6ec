import type { Step } from '../backup/steps.js';
import { bashScript } from '../shell.js';

/**
 * The contract with the HAProxy in front of the app (examples/zero-downtime): backend `app` with two
 * server slots, `service` (the compose service, by its DNS name) and `candidate` (a new version started
 * beside it, addressed by the action), the runtime API on 127.0.0.1:9999 inside the proxy's container,
 * the Lua `hold` action that keeps requests waiting while no slot is up, and its `show holds` counters.
 */
export const BACKEND = 'app';
export const SLOTS = ['service', 'candidate'] as const;
export type Slot = (typeof SLOTS)[number];
export const ADMIN_PORT = 9999;
export const STATE_FILE = '/var/lib/haproxy/state/servers.state';

/**
 * One round trip to the runtime API: the commands reach the proxy's container as a positional
 * parameter and are written to the admin socket from there (bash's /dev/tcp: no socat needed in the
 * image, and the API never leaves the container's own loopback). With `save`, the servers' state is
 * then written to the state file the proxy loads when it restarts (HAProxy never writes it itself), so
 * a restart comes back to the switched state, not to the config's.
 */
const RUNTIME = ['docker exec -i "$1" bash -c "$2" bash "$3" "$4"'];
export const PROXY_SIDE_SCRIPT = [
  `exec 3<>/dev/tcp/127.0.0.1/${ADMIN_PORT}`,
  `printf '%s\\n' "$1" >&3`,
  'cat <&3',
  'exec 3<&-',
  'if [ -n "$2" ]; then',
  `  exec 3<>/dev/tcp/127.0.0.1/${ADMIN_PORT}`,
  `  printf 'show servers state\\n' >&3`,
  '  cat <&3 > "$2.new"',
  '  mv "$2.new" "$2"',
  'fi',
].join('\n');

export function runtimeStep(proxyId: string, commands: readonly string[], save = false): Step {
  return {
    title: `HAProxy: ${commands.join('; ')}${save ? ' (state saved)' : ''}`,
    command: bashScript(RUNTIME, [proxyId, PROXY_SIDE_SCRIPT, commands.join('; '), save ? STATE_FILE : '']),
  };
}

export const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Runtime commands, built from constants and validated values only. */
export const commands = {
  /** Points a slot at a container and puts it in rotation at once (it was verified directly first). */
  enable(slot: Slot, ip: string, port: number): string[] {
    if (!IPV4.test(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a port: ${port}`);
    return [
      `set server ${BACKEND}/${slot} addr ${ip} port ${port}`,
      `set server ${BACKEND}/${slot} state ready`,
    ];
  },
  /** No new requests; those in flight (and their keep-alive connections) finish. */
  drain: (slot: Slot): string[] => [`set server ${BACKEND}/${slot} state drain`],
  /** Out of rotation: with both slots here, the proxy holds new requests. */
  maint: (slot: Slot): string[] => [`set server ${BACKEND}/${slot} state maint`],
  look: (): string[] => [`show servers state ${BACKEND}`, `show stat ${BACKEND} 4 -1`, 'show holds'],
  /** The hold counters start again at 0: what `show holds` says next belongs to this switch. */
  clearHolds: (): string[] => ['clear holds'],
};

export interface SlotState {
  slot: Slot;
  addr: string;
  port: number;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** Bit field: 0x01 forced maint, 0x02/0x10 inherited maint/drain, 0x04 disabled in the config, 0x08 forced drain, 0x20 DNS maint, 0x40 health maint. */
  adminState: number;
  /** Requests in flight (scur of `show stat`). */
  current: number;
}

export interface HoldCounters {
  held: number;
  longestMs: number;
  refused: number;
}

export interface ProxyLook {
  slots: Record<Slot, SlotState>;
  holds: HoldCounters;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

const NUM = /^\d{1,10}$/;

/**
 * Reads the answer to `commands.look()`: the proxy's own text, validated like any data from the host.
 * Blocks are separated by an empty line, in the order asked.
 */
export function parseLook(text: string): Parsed<ProxyLook> {
  const lines = text.replace(/\r/g, '').split('\n');
  const state = new Map<string, Omit<SlotState, 'current'>>();
  const current = new Map<string, number>();
  let holds: HoldCounters | null = null;
  let statHeader: string[] | null = null;
  for (const line of lines) {
    if (!line.trim()) continue;
    if (line.startsWith('# be_id')) continue;
    if (line.startsWith('# pxname')) {
      statHeader = line.slice(2).split(',');
      continue;
    }
    const h = /^held=(\d{1,10}) longest_ms=(\d{1,10}) refused=(\d{1,10})$/.exec(line);
    if (h) {
      holds = { held: Number(h[1]), longestMs: Number(h[2]), refused: Number(h[3]) };
      continue;
    }
    if (line.includes(',') && statHeader) {
      const f = line.split(',');
      if (f[0] !== BACKEND) continue;
      const scur = f[statHeader.indexOf('scur')] ?? '';
      if (!NUM.test(scur)) return { ok: false, why: `show stat: scur of ${f[1]} is ${JSON.stringify(scur)}` };
      current.set(f[1] ?? '', Number(scur));
      continue;
    }
    const f = line.split(' ');
    if (f.length >= 19 && f[1] === BACKEND) {
      const [, , , name, addr, op, admin] = f;
      const port = f[18] ?? '';
      if (!IPV4.test(addr ?? '') || !NUM.test(op ?? '') || !NUM.test(admin ?? '') || !NUM.test(port))
        return {
          ok: false,
          why: `show servers state: unexpected line ${JSON.stringify(line.slice(0, 200))}`,
        };
      state.set(name ?? '', {
        slot: name as Slot,
        addr: addr!,
        opState: Number(op),
        adminState: Number(admin),
        port: Number(port),
      });
      continue;
    }
    if (/^(Unknown command|No such|Can't find)/i.test(line))
      return { ok: false, why: `the runtime API answered ${JSON.stringify(line.slice(0, 200))}` };
  }
  const slots = {} as Record<Slot, SlotState>;
  for (const slot of SLOTS) {
    const s = state.get(slot);
    if (!s) return { ok: false, why: `backend ${BACKEND} has no server ${slot}` };
    const cur = current.get(slot);
    if (cur === undefined) return { ok: false, why: `show stat lists no server ${slot} in ${BACKEND}` };
    slots[slot] = { ...s, current: cur };
  }
  if (!holds) return { ok: false, why: 'no answer to `show holds` (is hold.lua loaded?)' };
  return { ok: true, value: { slots, holds } };
}

/**
 * In rotation: running, and in no maintenance or drain mode. 0x04 (CMAINT) only remembers that the
 * config said `disabled`: it stays after `state ready`, and the server serves.
 */
const OUT_OF_ROTATION = 0x01 | 0x02 | 0x08 | 0x10 | 0x20 | 0x40;
export const serving = (s: SlotState): boolean => s.opState === 2 && (s.adminState & OUT_OF_ROTATION) === 0;
