import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { customHeaderBlock, upstreamHead } from './headers.js';

function parse(lines: string): Array<[string, string]> {
  return lines
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => {
      const i = l.indexOf(': ');
      return [l.slice(0, i), l.slice(i + 2)];
    });
}

const base = { remoteAddress: '10.0.0.7', proto: 'http', upgrade: false, edge: false, fallbackHost: 'target:9' };

describe('upstreamHead', () => {
  test('keeps Host and end-to-end headers, drops hop-by-hop ones, adds X-Forwarded-* as CHP', () => {
    const head = upstreamHead(['Host', 'hub.example:8000', 'Connection', 'keep-alive', 'Keep-Alive', '5', 'Accept', '*/*', 'Trailer', 'x', 'Upgrade', 'h2c', 'Proxy-Connection', 'x'], base);
    assert.deepEqual(parse(head.lines), [
      ['Host', 'hub.example:8000'],
      ['Accept', '*/*'],
      ['X-Forwarded-For', '10.0.0.7'],
      ['X-Forwarded-Port', '8000'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', 'hub.example:8000'],
    ]);
    assert.equal(head.hasBody, false);
  });

  test('appends to existing X-Forwarded-* (comma, no space) and keeps a given X-Forwarded-Host', () => {
    const head = upstreamHead(['host', 'h', 'x-forwarded-for', '1.2.3.4', 'X-Forwarded-Proto', 'https', 'x-forwarded-port', '443', 'x-forwarded-host', 'public.example'], base);
    assert.deepEqual(parse(head.lines), [
      ['host', 'h'],
      ['X-Forwarded-For', '1.2.3.4,10.0.0.7'],
      ['X-Forwarded-Port', '443,80'],
      ['X-Forwarded-Proto', 'https,http'],
      ['X-Forwarded-Host', 'public.example'],
    ]);
  });

  test('edge routes: Authorization replaced by the upstream token, session cookie removed', () => {
    const head = upstreamHead(['Host', 'h', 'Authorization', 'token user-token', 'Cookie', 'highrate-session=s; _xsrf=x'], { ...base, edge: true, upstreamToken: 'UP' });
    const lines = parse(head.lines);
    assert.deepEqual(lines.filter(([n]) => /^(authorization|cookie)$/i.test(n)), [
      ['Cookie', '_xsrf=x'],
      ['Authorization', 'token UP'],
    ]);
  });

  test('edge routes without an upstream token (servers that check with the hub) get the client\'s Authorization unchanged; a lone session cookie leaves no Cookie', () => {
    const head = upstreamHead(['Host', 'h', 'Authorization', 'Bearer t', 'Cookie', 'highrate-session=s'], { ...base, edge: true });
    assert.deepEqual(parse(head.lines).filter(([n]) => /^(authorization|cookie)$/i.test(n)), [['Authorization', 'Bearer t']]);
    const server = upstreamHead(['Host', 'h', 'Cookie', 'highrate-session=s; jupyterhub-user-alice=c'], { ...base, edge: true });
    assert.deepEqual(parse(server.lines).filter(([n]) => /^cookie$/i.test(n)), [['Cookie', 'jupyterhub-user-alice=c']]);
  });

  test('routes without a user forward Authorization and cookies unchanged', () => {
    const head = upstreamHead(['Host', 'h', 'Authorization', 'token t', 'Cookie', 'highrate-session=s'], base);
    assert.deepEqual(parse(head.lines).slice(0, 3), [['Host', 'h'], ['Authorization', 'token t'], ['Cookie', 'highrate-session=s']]);
  });

  test('bodies: Content-Length > 0 or Transfer-Encoding (then re-chunked)', () => {
    assert.deepEqual(upstreamHead(['Content-Length', '0'], base).hasBody, false);
    const cl = upstreamHead(['Content-Length', '12'], base);
    assert.equal(cl.hasBody, true);
    assert.equal(cl.chunked, false);
    const te = upstreamHead(['Transfer-Encoding', 'chunked'], base);
    assert.equal(te.hasBody, true);
    assert.equal(te.chunked, true);
  });

  test('upgrades keep Connection/Upgrade and set no X-Forwarded-Host; no Host falls back to the target', () => {
    const head = upstreamHead(['Connection', 'Upgrade', 'Upgrade', 'websocket'], { ...base, upgrade: true, proto: 'ws' });
    assert.deepEqual(parse(head.lines), [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
      ['Host', 'target:9'],
      ['X-Forwarded-For', '10.0.0.7'],
      ['X-Forwarded-Port', '80'],
      ['X-Forwarded-Proto', 'ws'],
    ]);
  });

  test('CHP options: --no-x-forward, --change-origin, --custom-header (last of a name wins, the client\'s replaced)', () => {
    const custom = customHeaderBlock([['X-A', '1'], ['x-a', '2'], ['X-B', 'b']]);
    assert.equal(customHeaderBlock([]), null);
    const head = upstreamHead(['Host', 'public:8000', 'X-Forwarded-For', '1.2.3.4', 'X-B', 'client', 'Accept', '*/*'],
      { ...base, xForward: false, changeOrigin: true, custom });
    assert.deepEqual(parse(head.lines), [
      ['X-Forwarded-For', '1.2.3.4'],
      ['Accept', '*/*'],
      ['Host', 'target:9'],
      ['x-a', '2'],
      ['X-B', 'b'],
    ]);
  });
});
