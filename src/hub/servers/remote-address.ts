import { hashSecret, newSecret, safeEqual } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';

/**
 * Workloads that start where the hub cannot predict (a batch node) report their address: the
 * executor says so with `capabilities.remoteAddress`. The notebook command is wrapped so that,
 * on the node, it picks a free port on the address it uses to reach the hub, POSTs `{host, port}`
 * to `POST /hub/api/workloads/<pod uid>/address` with a per-workload token (passed as a pod
 * Secret, never on a command line), and then becomes the notebook server on that address. No
 * shared file system is assumed. The hub keeps only the token's hash (spawnState).
 */

/** Python the wrapper runs with: the notebook's own (Debian's python3-notebook). */
export const WRAPPER_PYTHON = '/usr/bin/python3';

/** Placeholders the wrapper fills on the node. */
export const NODE_IP = '{ip}';
export const NODE_PORT = '{port}';

/**
 * The wrapper (python3 -c): argv[1:] is the notebook command with {ip} and {port} in it.
 * - the address: HIGHRATE_LISTEN_IP if set, else the local address of a UDP socket "connected"
 *   to the hub (no packet is sent): the interface facing the hub, so the proxy beside the hub
 *   can reach it;
 * - the report is retried (the hub may be restarting) and the process exits non-zero if it never
 *   gets through, so the spawn fails with this log rather than waiting for its timeout;
 * - the callback token is removed from the environment before the notebook starts.
 */
export const ADDRESS_WRAPPER = `
import json, os, socket, sys, time, urllib.parse, urllib.request
url = os.environ.pop('HIGHRATE_CALLBACK_URL')
token = os.environ.pop('HIGHRATE_CALLBACK_TOKEN')
hub = urllib.parse.urlsplit(url)
ip = os.environ.get('HIGHRATE_LISTEN_IP', '')
if not ip:
    s = socket.socket(socket.AF_INET6 if ':' in (hub.hostname or '') else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((hub.hostname, hub.port or (443 if hub.scheme == 'https' else 80)))
    ip = s.getsockname()[0]
    s.close()
s = socket.socket(socket.AF_INET6 if ':' in ip else socket.AF_INET, socket.SOCK_STREAM)
s.bind((ip, 0))
port = s.getsockname()[1]
s.close()
body = json.dumps({'host': ip, 'port': port}).encode()
for attempt in range(6):
    try:
        req = urllib.request.Request(url, data=body, method='POST', headers={'Authorization': 'token ' + token, 'Content-Type': 'application/json'})
        urllib.request.urlopen(req, timeout=10).close()
        break
    except Exception as e:
        if attempt == 5 or getattr(e, 'code', 0) in (400, 403, 404, 409):
            sys.exit('highrate: could not report the address %s:%d to the hub: %s' % (ip, port, e))
        time.sleep(2 ** attempt)
host = '[%s]' % ip if ':' in ip else ip
prefix = os.environ.get('JUPYTERHUB_SERVICE_PREFIX', '/')
os.environ['HIGHRATE_PORT'] = str(port)
os.environ['JUPYTERHUB_SERVICE_URL'] = 'http://%s:%d%s' % (host, port, prefix)
argv = [a.replace('{ip}', ip).replace('{port}', str(port)) for a in sys.argv[1:]]
print('highrate: serving on %s:%d (reported to the hub)' % (host, port), flush=True)
os.execvp(argv[0], argv)
`.trimStart();

/** The notebook command wrapped for a remote node (argv[0] of the result is python). */
export function wrapForRemoteAddress(command: readonly string[], python = WRAPPER_PYTHON): string[] {
  return [python, '-c', ADDRESS_WRAPPER, ...command];
}

/**
 * The interpreter that runs the wrapper: the node's /usr/bin/python3 for host processes, the
 * image's `python3` on its PATH in containers (docker-stacks images have it only in /opt/conda).
 */
export function wrapperPython(runsImages: boolean): string {
  return runsImages ? 'python3' : WRAPPER_PYTHON;
}

/** A new callback token and the hash the hub keeps of it. */
export function newCallbackToken(): { token: string; hash: string } {
  const token = newSecret();
  return { token, hash: hashSecret(token) };
}

/** Whether `presented` is the token whose hash is `hash`. */
export function callbackTokenMatches(presented: string, hash: unknown): boolean {
  return typeof hash === 'string' && safeEqual(hashSecret(presented), hash);
}

export interface WorkloadAddress { host: string; port: number }

/** Validates a reported `{host, port}`: an IPv4/IPv6 address or a host name, and a TCP port. */
export function parseAddress(body: Record<string, unknown> | undefined): WorkloadAddress {
  const host = body?.host;
  const port = body?.port;
  const hostOk = typeof host === 'string' && host.length <= 253 && (
    /^(\d{1,3})(\.\d{1,3}){3}$/.test(host) || /^[0-9a-fA-F:]+$/.test(host) && host.includes(':') ||
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(host));
  if (!hostOk || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw fail('BAD_REQUEST', 'Body must be {"host": "<address or host name>", "port": <1-65535>}.');
  }
  return { host, port };
}

/** The server URL for a reported address. */
export function addressUrl(a: WorkloadAddress): string {
  return `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Waiters for addresses, by pod UID (one per start in flight in this hub process). */
export class AddressBoard {
  #waiters = new Map<string, (a: WorkloadAddress) => void>();

  /** Resolves when `deliver(uid, ...)` is called, or with null when `signal` aborts. */
  wait(uid: string, signal: AbortSignal): Promise<WorkloadAddress | null> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(null);
      const onAbort = () => {
        this.#waiters.delete(uid);
        resolve(null);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.set(uid, (a) => {
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(uid);
        resolve(a);
      });
    });
  }

  deliver(uid: string, a: WorkloadAddress): void {
    this.#waiters.get(uid)?.(a);
  }
}
