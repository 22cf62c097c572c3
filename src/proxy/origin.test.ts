import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalOrigin, isSafeMethod, originRefusal } from './origin.js';

const NONE: ReadonlySet<string> = new Set();
const ADVICE = "Open the notebook from the platform's own address, or use a token.";

describe('originRefusal', () => {
  test('an Origin whose host and port are the Host passes: case, default ports and scheme aside', () => {
    const same: Array<[string, string]> = [
      ['http://127.0.0.1:8000', '127.0.0.1:8000'],
      ['https://127.0.0.1:8000', '127.0.0.1:8000'],
      ['HTTP://Hub.Example.ORG', 'hub.example.org'],
      ['http://hub.example.org', 'hub.example.org:80'],
      ['https://hub.example.org', 'hub.example.org:443'],
      ['https://hub.example.org', 'hub.example.org'],
      ['http://[::1]:8000', '[::1]:8000'],
    ];
    for (const [origin, host] of same) {
      assert.equal(originRefusal(['Host', host, 'Origin', origin], NONE), null, `${origin} vs ${host}`);
      assert.equal(originRefusal(['origin', origin, 'HOST', host], NONE), null, `${origin} vs ${host}, other order and case`);
    }
  });

  test('another port, a sibling subdomain, or a default port of the other scheme is refused with the exact message', () => {
    assert.equal(
      originRefusal(['Host', '127.0.0.1:8000', 'Origin', 'http://evil:9'], NONE),
      `Cross-origin request refused: Origin http://evil:9 is not this site (127.0.0.1:8000). ${ADVICE}`,
    );
    const other: Array<[string, string]> = [
      ['http://127.0.0.1:8001', '127.0.0.1:8000'],
      ['http://evil.example.org', 'hub.example.org'],
      ['http://hub.example.org', 'hub.example.org:443'],
      ['https://hub.example.org', 'hub.example.org:80'],
      ['http://hub.example.org:8000', 'hub.example.org'],
      ['http://hub.example.org.evil', 'hub.example.org'],
      ['http://[::1]:8001', '[::1]:8000'],
      ['ftp://hub.example.org', 'hub.example.org'],
      ['http://hub.example.org/path', 'hub.example.org'],
      ['http://user@hub.example.org', 'hub.example.org'],
      ['http://hub.example.org:x', 'hub.example.org'],
    ];
    for (const [origin, host] of other) {
      assert.equal(originRefusal(['Host', host, 'Origin', origin], NONE), `Cross-origin request refused: Origin ${origin} is not this site (${host}). ${ADVICE}`, `${origin} vs ${host}`);
    }
  });

  test('Origin null, two Origin headers, and an Origin without Host are refused', () => {
    assert.equal(
      originRefusal(['Host', 'h:1', 'Origin', 'null'], NONE),
      `Cross-origin request refused: Origin null (a sandboxed page, a file or a redirect from another site) is not this site (h:1). ${ADVICE}`,
    );
    assert.equal(originRefusal(['Host', 'h:1', 'Origin', 'http://h:1', 'Origin', 'http://evil'], NONE), `Cross-origin request refused: it has more than one Origin header. ${ADVICE}`);
    assert.equal(originRefusal(['Origin', 'http://h:1'], NONE), `Cross-origin request refused: Origin http://h:1 is not this site (no Host header). ${ADVICE}`);
  });

  test('allowed origins pass whatever the Host; they are compared in canonical form, scheme included', () => {
    const allowed = new Set([canonicalOrigin('https://hub.example.org'), canonicalOrigin('http://10.0.0.5:8000/')]);
    assert.equal(originRefusal(['Host', '127.0.0.1:8000', 'Origin', 'https://hub.example.org'], allowed), null);
    assert.equal(originRefusal(['Host', '127.0.0.1:8000', 'Origin', 'https://HUB.example.org:443'], allowed), null);
    assert.equal(originRefusal(['Host', '127.0.0.1:8000', 'Origin', 'http://10.0.0.5:8000'], allowed), null);
    assert.match(originRefusal(['Host', '127.0.0.1:8000', 'Origin', 'http://hub.example.org'], allowed)!, /^Cross-origin request refused: Origin http:\/\/hub\.example\.org is not this site/);
    assert.match(originRefusal(['Host', '127.0.0.1:8000', 'Origin', 'null'], allowed)!, /Origin null/);
  });

  test('without Origin: Sec-Fetch-Site decides for browsers; clients sending neither pass', () => {
    assert.equal(originRefusal(['Host', 'h'], NONE), null);
    assert.equal(originRefusal(['Host', 'h', 'Sec-Fetch-Site', 'same-origin'], NONE), null);
    assert.equal(originRefusal(['Host', 'h', 'sec-fetch-site', 'none'], NONE), null);
    for (const site of ['same-site', 'cross-site', 'bogus']) {
      assert.equal(
        originRefusal(['Host', 'h', 'Sec-Fetch-Site', site], NONE),
        `Cross-site request refused: it came from another site's page (Sec-Fetch-Site: ${site}). ${ADVICE}`,
      );
    }
  });

  test('a very long Origin is cut short in the message', () => {
    const long = `http://${'a'.repeat(300)}`;
    const message = originRefusal(['Host', 'h', 'Origin', long], NONE)!;
    assert.ok(message.includes(`Origin ${long.slice(0, 100)}… is not this site`), message);
  });
});

describe('canonicalOrigin', () => {
  test('writes scheme, host and port, lower-case, default port filled in', () => {
    assert.equal(canonicalOrigin('https://Hub.Example.org'), 'https://hub.example.org:443');
    assert.equal(canonicalOrigin('http://hub.example.org:80/'), 'http://hub.example.org:80');
    assert.equal(canonicalOrigin('http://[::1]:8000'), 'http://[::1]:8000');
  });

  test('refuses what is not an http(s) origin', () => {
    for (const bad of ['hub.example.org', 'null', 'ftp://h', 'https://h/hub/', 'https://h?x=1', 'https://u@h']) {
      assert.throws(() => canonicalOrigin(bad), TypeError, bad);
    }
  });
});

describe('isSafeMethod', () => {
  test('GET, HEAD and OPTIONS only', () => {
    assert.deepEqual(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', undefined].map(isSafeMethod), [true, true, true, false, false, false, false, false, false]);
  });
});
