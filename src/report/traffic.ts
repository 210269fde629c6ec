import type { TrafficReport } from '../deploy/result.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The switch through the proxy, as the proxy counted it: what users saw while it ran. */
export function trafficMarkdown(t: TrafficReport | undefined): string[] {
  if (!t) return [];
  const how =
    t.switch === 'beside'
      ? 'the new version was verified beside the running one and took the traffic only then'
      : 'the running version left rotation and requests waited at the proxy through the switch';
  return [
    '### Traffic (strategy zero-downtime)',
    '',
    `Switch: ${how} (${t.why}).`,
    '',
    '| requests held | longest hold | refused with 503 after the hold bound | drain time | cut at the drain bound |',
    '| --- | --- | --- | --- | --- |',
    `| ${t.held} | ${secs(t.longestHoldMs)} | ${t.refused} | ${secs(t.drainMs)} | ${t.cut} |`,
    '',
  ];
}
