import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HighrateError } from '../errors/catalogue.js';
import { checkProxyOptions, parseProxyArgs } from './options.js';

describe('parseProxyArgs', () => {
  test('reads CHP-style flags and the token from CONFIGPROXY_AUTH_TOKEN', () => {
    const cmd = parseProxyArgs(
      ['--port', '8000', '--ip', '127.0.0.1', '--api-port', '8001', '--api-ip', '127.0.0.1', '--default-target', 'http://127.0.0.1:8081',
        '--authorize-url', 'http://127.0.0.1:8081/hub/api/proxy/authorize', '--pid-file', '/tmp/p.pid', '--log-level', 'warn'],
      { CONFIGPROXY_AUTH_TOKEN: 'sekret' },
    );
    assert.deepEqual(cmd, {
      help: false,
      pidFile: '/tmp/p.pid',
      logLevel: 'warn',
      options: {
        port: 8000,
        ip: '127.0.0.1',
        apiPort: 8001,
        apiIp: '127.0.0.1',
        defaultTarget: 'http://127.0.0.1:8081',
        authorizeUrl: 'http://127.0.0.1:8081/hub/api/proxy/authorize',
        loginUrl: undefined,
        authToken: 'sekret',
        daskPort: undefined,
        daskIp: undefined,
      },
    });
  });

  test('--dask-port and --dask-ip (the Dask port; its address defaults to --ip)', () => {
    const cmd = parseProxyArgs(['--ip', '10.0.0.1', '--dask-port', '8786'], {});
    assert.equal(cmd.options.daskPort, 8786);
    assert.equal(checkProxyOptions(cmd.options).daskIp, '10.0.0.1');
    assert.equal(checkProxyOptions(parseProxyArgs(['--dask-port', '0', '--dask-ip', '127.0.0.1'], {}).options).daskIp, '127.0.0.1');
    assert.throws(() => parseProxyArgs(['--dask-port', 'x'], {}), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID');
    assert.throws(() => checkProxyOptions({ daskPort: 70000 }), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID');
  });

  test('--help, and --ip * meaning all interfaces (as CHP)', () => {
    assert.equal(parseProxyArgs(['-h'], {}).help, true);
    assert.equal(parseProxyArgs(['--ip', '*'], {}).options.ip, undefined);
  });

  test('unknown flags and bad values are CONFIG_INVALID', () => {
    for (const argv of [['--bogus'], ['--port', 'eighty'], ['--log-level', 'loud'], ['positional']]) {
      assert.throws(() => parseProxyArgs(argv, {}), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID', argv.join(' '));
    }
  });
});

describe('checkProxyOptions', () => {
  test('defaults follow CHP: port 8000, API on port+1 at 127.0.0.1', () => {
    const o = checkProxyOptions({});
    assert.equal(o.port, 8000);
    assert.equal(o.apiPort, 8001);
    assert.equal(o.apiIp, '127.0.0.1');
    assert.equal(o.loginUrl, '/hub/login');
    assert.equal(o.authToken, '');
    assert.equal(checkProxyOptions({ port: 0 }).apiPort, 0);
    assert.ok(Object.isFrozen(o));
  });

  test('refuses ports, targets and login URLs that cannot work', () => {
    for (const bad of [{ port: 70000 }, { apiPort: -1 }, { port: 1.5 }, { defaultTarget: 'nope' }, { authorizeUrl: 'ftp://x/' }, { loginUrl: 'http://evil/' }]) {
      assert.throws(() => checkProxyOptions(bad), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID', JSON.stringify(bad));
    }
  });
});
