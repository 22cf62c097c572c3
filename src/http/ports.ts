import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports handed out recently, kept from a second caller until their workload has had time to listen. */
const handedOut = new Map<number, number>();
const HOLD_MS = 5 * 60_000;
/** Workloads get 10000–19999 (tests and operators keep 20000 up to the ephemeral range for themselves). */
const LOWEST = 10_000;
const HIGHEST = 20_000;

/**
 * A free TCP port for a workload the hub starts (a notebook server, a scheduler, a dashboard).
 *
 * Two races made "free" a lie under load, and both are closed here:
 * - the port is chosen in 10000–19999, below Linux's ephemeral range (`ip_local_port_range`,
 *   from 32768 by default), so an outgoing connection cannot take it between this check and the
 *   workload's listen;
 * - a port is not handed out again for five minutes, so two starts at the same moment cannot get
 *   the same one (300 users pressing Start at once did: the second server died on its bind).
 * Where the ephemeral range leaves no room below it, the OS picks (still never twice).
 */
export async function freePort(): Promise<number> {
  const now = Date.now();
  for (const [port, at] of handedOut) if (now - at > HOLD_MS) handedOut.delete(port);
  const top = Math.min(HIGHEST, (ephemeralFloor ??= ephemeralLow()));
  for (let i = 0; top - LOWEST > 1000 && i < 100; i++) {
    const port = LOWEST + Math.floor(Math.random() * (top - LOWEST));
    if (handedOut.has(port)) continue;
    handedOut.set(port, now);
    if (await canListen(port)) return port;
    handedOut.delete(port);
  }
  for (;;) {
    const port = await osPort();
    if (!handedOut.has(port)) {
      handedOut.set(port, now);
      return port;
    }
  }
}

/** The low end of the ephemeral range, read once (it is a boot-time sysctl). */
let ephemeralFloor: number | undefined;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768; // not Linux: the IANA dynamic range starts higher still
  }
}

/** Whether nothing listens on `port` on any address (0.0.0.0 conflicts with 127.0.0.1 and ::). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
