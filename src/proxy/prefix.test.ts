import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cleanPrefix, routingPath } from './prefix.js';

describe('cleanPrefix (CHP normalisation)', () => {
  test('adds the leading slash, drops one trailing slash, keeps the root', () => {
    assert.equal(cleanPrefix('/user/alice/'), '/user/alice');
    assert.equal(cleanPrefix('user/alice'), '/user/alice');
    assert.equal(cleanPrefix('/user/alice'), '/user/alice');
    assert.equal(cleanPrefix('/'), '/');
    assert.equal(cleanPrefix(''), '/');
  });
});

describe('routingPath', () => {
  test('plain paths are used as they are, without the query', () => {
    assert.equal(routingPath('/user/alice/api?x=1'), '/user/alice/api');
    assert.equal(routingPath('/'), '/');
  });

  test('dot segments and percent-encoding are resolved like CHP (WHATWG URL, then decoded)', () => {
    assert.equal(routingPath('/user/bob/../alice/tree'), '/user/alice/tree');
    assert.equal(routingPath('/user/%61lice/'), '/user/alice/');
    assert.equal(routingPath('/user/x/%2e%2e/alice'), '/user/alice');
    assert.equal(routingPath('/user\\alice'), '/user/alice');
    assert.equal(routingPath('http://example.org/user/alice?q'), '/user/alice');
  });

  test('malformed percent-encoding gives null', () => {
    assert.equal(routingPath('/user/%E0%A4%A/'), null);
  });
});
