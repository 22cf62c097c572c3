/**
 * Probes against elements that misbehave: a port that accepts connections and then says nothing
 * (a hung server, or a firewall that lets SYN through). The real xrdfs must be killed at the
 * deadline and leave no process behind; the https probe must give up at the same deadline.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { probeElement } from '../../src/storage/probe.js';

const HAVE_XRDFS = fs.existsSync('/usr/bin/xrdfs');

/** Pids of this process's children that are xrdfs (by /proc, so a leaked one is seen). */
function xrdfsChildren(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \(([^)]*)\) \S (\d+)/.exec(stat);
      if (m && m[1] === 'xrdfs' && Number(m[2]) === process.pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

describe('storage probes against a silent port', { skip: !HAVE_XRDFS && 'xrdfs is not installed (scripts/install-deps.sh)' }, () => {
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();

  before(async () => {
    silent = net.createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    port = (silent.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  test('root://: xrdfs is killed at the deadline; unreachable, saying the port accepts but XRootD does not answer', async () => {
    const started = Date.now();
    const r = await probeElement({ url: new URL(`root://127.0.0.1:${port}`), timeoutMs: 1500, slowMs: 60_000, token: 'not-a-real-token' });
    const took = Date.now() - started;
    assert.deepEqual({ state: r.state, version: r.version, message: r.message }, {
      state: 'unreachable', version: null,
      message: `127.0.0.1:${port} accepts connections but XRootD did not answer within 1.5 s: the element hangs, or it is not an XRootD server.`,
    });
    assert.ok(took >= 1400 && took < 3000, `took ${took} ms`);
    assert.deepEqual(xrdfsChildren(), []);
  });

  test('https://: gives up at the deadline, unreachable', async () => {
    const started = Date.now();
    const r = await probeElement({ url: new URL(`https://127.0.0.1:${port}/`), timeoutMs: 1500, slowMs: 60_000 });
    const took = Date.now() - started;
    assert.deepEqual({ state: r.state, message: r.message }, {
      state: 'unreachable',
      message: `No answer from 127.0.0.1:${port} within 1.5 s: a firewall may drop the connection, or the element hangs.`,
    });
    assert.ok(took >= 1400 && took < 3000, `took ${took} ms`);
  });
});
