// Webhook edge: one POST of a small JSON message. The URL is a secret (masked as an input) and is never
// put in a log line, not even in an error: reasons are an HTTP status or a socket error code.

import type { Log } from '../log.js';
import { timeboxed } from './timebox.js';
import type { WebhookMessage } from './webhook-message.js';

/** Slack and Teams answer in well under a second; a receiver that takes longer is not waited for. */
export const WEBHOOK_TIMEOUT_MS = 5000;

export async function notify(url: string, message: WebhookMessage, log: Log): Promise<void> {
  const r = await timeboxed(WEBHOOK_TIMEOUT_MS, async (signal) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal,
      // A redirect could carry the message somewhere else: the webhook must answer itself.
      redirect: 'manual',
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
    return res.status;
  });
  if (r.ok) log.info(`notify-webhook: message sent (HTTP ${r.value})`);
  else log.warning(`notify-webhook: message not delivered: ${r.reason}`);
}
