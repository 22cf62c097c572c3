import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { validateConfig } from '../../config/load.js';
import { ADDRESS_WRAPPER, AddressBoard, addressUrl, callbackTokenMatches, newCallbackToken, parseAddress, WRAPPER_PYTHON } from './remote-address.js';
import { notebookPod, PLAIN_NOTEBOOK_COMMAND } from './workload.js';

const cfg = validateConfig({ profiles: [{ name: 'p', default: true }] });
const base = { user: 'alice', server: '', options: { profile: 'p', cores: 1, memory: '1G' }, profile: cfg.profiles[0]!, port: 4242, upstreamToken: 'up', homeDir: '/data/homes/alice', identity: { uid: 200001, gid: 200001 }, mountPaths: true, publicUrl: 'http://hub.example:8000',
  defaultCommand: PLAIN_NOTEBOOK_COMMAND, hubCredentials: { apiToken: 'api', clientId: 'jupyterhub-user-alice' } };

test('a remote notebook pod: wrapped command with {ip}/{port} left for the node, callback URL in env, token only in the Secret', () => {
  const d = notebookPod({ ...base, remote: { hubApiUrl: 'http://hub.example:8000/hub/api', token: 'cb-token' } });
  const c = d.pod.spec.containers[0]!;
  assert.deepEqual(c.command!.slice(0, 3), [WRAPPER_PYTHON, '-c', ADDRESS_WRAPPER]);
  assert.ok(c.command!.includes('--ip={ip}') && c.command!.includes('--port={port}'), JSON.stringify(c.command));
  assert.equal(c.ports, undefined);
  const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
  assert.equal(env.HIGHRATE_CALLBACK_URL, `http://hub.example:8000/hub/api/workloads/${d.pod.metadata.uid}/address`);
  assert.equal(env.HIGHRATE_PORT, undefined);
  assert.ok(!JSON.stringify(d.pod).includes('cb-token'), 'the token is not in the pod spec');
  const data = d.container![0]!.secrets![0]!.data!;
  assert.equal(Buffer.from(data.HIGHRATE_CALLBACK_TOKEN!, 'base64').toString(), 'cb-token');
});

test('a local notebook pod keeps its port and loopback address', () => {
  const c = notebookPod(base).pod.spec.containers[0]!;
  assert.ok(c.command!.includes('--ip=127.0.0.1') && c.command!.includes('--port=4242'));
  assert.deepEqual(c.ports, [{ containerPort: 4242, name: 'notebook' }]);
});

test('the wrapper is valid Python', () => {
  execFileSync(WRAPPER_PYTHON, ['-c', 'import sys; compile(sys.argv[1], "wrapper", "exec")', ADDRESS_WRAPPER]);
});

test('addresses: IPv4, IPv6, host names; anything else is a 400', () => {
  assert.deepEqual(parseAddress({ host: '10.1.2.3', port: 8888 }), { host: '10.1.2.3', port: 8888 });
  assert.equal(addressUrl(parseAddress({ host: 'fe80::1', port: 1 })), 'http://[fe80::1]:1');
  assert.equal(addressUrl(parseAddress({ host: 'wn-01.cluster', port: 65535 })), 'http://wn-01.cluster:65535');
  for (const bad of [{ host: 'a b', port: 1 }, { host: 'x/y', port: 1 }, { host: '1.2.3.4', port: 0 }, { host: '1.2.3.4', port: 1.5 }, { host: 1, port: 1 }, undefined]) {
    assert.throws(() => parseAddress(bad as Record<string, unknown>), { code: 'BAD_REQUEST' }, JSON.stringify(bad));
  }
});

test('tokens: only the hash is kept; the board hands an address to its waiter once', async () => {
  const { token, hash } = newCallbackToken();
  assert.ok(callbackTokenMatches(token, hash));
  assert.ok(!callbackTokenMatches(token + 'x', hash));
  assert.ok(!callbackTokenMatches(token, undefined));
  const board = new AddressBoard();
  const ac = new AbortController();
  const waiting = board.wait('u1', ac.signal);
  board.deliver('u2', { host: 'a', port: 1 });
  board.deliver('u1', { host: 'b', port: 2 });
  assert.deepEqual(await waiting, { host: 'b', port: 2 });
  const aborted = new AbortController();
  const never = board.wait('u3', aborted.signal);
  aborted.abort();
  assert.equal(await never, null);
});
