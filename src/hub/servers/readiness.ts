import { request } from 'node:http';

/**
 * Waits until an HTTP server answers at `url` (any status counts, as JupyterHub's
 * wait_for_http_server), polling every `intervalMs` so a server is seen within ~10 ms of listening.
 * Resolves true when it answers, false when `signal` aborts.
 */
export async function waitForHttp(url: string, headers: Record<string, string>, signal: AbortSignal, intervalMs = 10): Promise<boolean> {
  while (!signal.aborted) {
    if (await probe(url, headers)) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

function probe(url: string, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', headers, timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
