// Webhook edge: one POST of a small JSON message. The URL is a secret (masked as an input) and is never
// put in a log line, not even in an error: reasons are an HTTP status or a socket error code.

import { HttpClient } from '@actions/http-client';
import type { Log } from '../log.js';
import { timeboxed } from './timebox.js';
import type { WebhookMessage } from './webhook-message.js';

/** Slack and Teams answer in well under a second; a receiver that takes longer is not waited for. */
export const WEBHOOK_TIMEOUT_MS = 5000;

export async function notify(url: string, message: WebhookMessage, log: Log): Promise<void> {
  const r = await timeboxed(WEBHOOK_TIMEOUT_MS, async () => {
    // The toolkit's client: it goes through the runner's proxy (https_proxy, no_proxy) as the GitHub
    // API calls do; a bare fetch would not, and a runner behind a proxy would never deliver.
    // A redirect could carry the message somewhere else: the webhook must answer itself.
    const client = new HttpClient('eqmd-rollback', [], {
      allowRedirects: false,
      socketTimeout: WEBHOOK_TIMEOUT_MS,
    });
    try {
      const res = await client.post(url, JSON.stringify(message), { 'content-type': 'application/json' });
      await res.readBody();
      const status = res.message.statusCode ?? 0;
      if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
      return status;
    } finally {
      client.dispose();
    }
  });
  if (r.ok) log.info(`notify-webhook: message sent (HTTP ${r.value})`);
  else log.warning(`notify-webhook: message not delivered: ${r.reason}`);
}
