import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserLogin, http, serverLogin } from '../helpers/http.js';
import { freePortPair, Platform, ROOT } from '../helpers/platform.js';

/**
 * A JupyterHub service written with JupyterHub's own HubOAuth (Debian's 3.0 Python package),
 * declared in highrate's config with its url: the proxy routes /services/whoami/ to it and the hub
 * is its OAuth provider (client `service-whoami`, secret: one of the service's tokens).
 */
describe('a HubOAuth service behind highrate', () => {
  let p: Platform;
  let service: ChildProcess | undefined;
  let servicePort: number;

  before(async () => {
    servicePort = await freePortPair();
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: {
        services: [{ name: 'whoami', url: `http://127.0.0.1:${servicePort}` }],
        roles: [{ name: 'whoami-users', scopes: ['access:services!service=whoami'], users: ['alice'] }],
      },
    });
    const admin = await p.token('admin');
    const issued = await p.api('POST', '/hub/api/services/whoami/tokens', { token: admin }, { note: 'whoami' });
    assert.equal(issued.status, 201, issued.text);
    service = spawn('/usr/bin/python3', [join(ROOT, 'test', 'fixtures', 'whoami_service.py')], {
      env: {
        PATH: '/usr/bin:/bin', PORT: String(servicePort),
        JUPYTERHUB_API_URL: `${p.base}/hub/api`, JUPYTERHUB_API_TOKEN: issued.json().token,
        JUPYTERHUB_CLIENT_ID: 'service-whoami', JUPYTERHUB_SERVICE_NAME: 'whoami', JUPYTERHUB_SERVICE_PREFIX: '/services/whoami/',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      service!.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      service!.stdout!.once('data', () => resolve());
      service!.once('exit', (code) => reject(new Error(`whoami service exited ${code}: ${err}`)));
    });
  });

  after(async () => {
    if (service && service.exitCode === null) {
      service.kill('SIGKILL');
      await new Promise((r) => service!.once('exit', r));
    }
    await p?.close();
  });

  test('alice (holding access:services on it) logs in to the service through the hub\'s OAuth flow', async () => {
    const jar = await browserLogin(p.base, 'alice', 'alice-password');
    const reply = await serverLogin(p.base, jar, '/services/whoami/', '');
    assert.equal(reply.status, 200, reply.text.slice(0, 300));
    const model = reply.json();
    assert.equal(model.name, 'alice');
    assert.equal(model.kind, 'user');
    assert.ok(model.scopes.includes('access:services!service=whoami'), JSON.stringify(model.scopes));
    assert.ok(jar.get('service-whoami'), 'the service\'s own login cookie');
  });

  test('bob, without access:services on it, is refused by the hub\'s authorize page', async () => {
    const jar = await browserLogin(p.base, 'bob', 'bob-password');
    const reply = await serverLogin(p.base, jar, '/services/whoami/', '');
    assert.equal(reply.status, 403);
    assert.match(reply.text, /You do not have permission to access Service whoami/);
  });

  test('the client secret is a token of that service: a user\'s token is refused', async () => {
    const jar = await browserLogin(p.base, 'alice', 'alice-password');
    const cb = '/services/whoami/oauth_callback';
    const granted = await http('GET', `${p.base}/hub/api/oauth2/authorize?${new URLSearchParams({ client_id: 'service-whoami', redirect_uri: cb, response_type: 'code' })}`, { headers: { cookie: jar.header(), accept: 'text/html' } });
    assert.equal(granted.status, 302);
    const code = new URL(String(granted.headers.location), p.base).searchParams.get('code')!;
    const exchange = await http('POST', `${p.base}/hub/api/oauth2/token`, {
      raw: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: 'service-whoami', client_secret: await p.token('alice'), redirect_uri: cb }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(exchange.status, 401);
    assert.equal(exchange.json().error, 'invalid_client');
  });

  test('the service\'s route carries no user: the proxy makes no edge check, the service authenticates itself', async () => {
    const routes = (await p.api('GET', '/hub/api/proxy', { token: await p.token('admin') })).json();
    const route = routes['/services/whoami/'];
    assert.equal(route.target, `http://127.0.0.1:${servicePort}`);
    assert.deepEqual(Object.keys(route.data).filter((k) => k !== 'last_activity'), ['service']);
    assert.equal(route.data.service, 'whoami');
    const anonymous = await http('GET', `${p.base}/services/whoami/`);
    assert.equal(anonymous.status, 302, 'the service itself sends an anonymous browser to the hub');
    assert.match(String(anonymous.headers.location), /^\/hub\/api\/oauth2\/authorize\?/);
  });
});
