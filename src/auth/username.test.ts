import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { isValidUsername, normaliseUsername, usernameProblem } from './username.js';

describe('normaliseUsername', () => {
  test('keeps valid names and only lowercases ASCII', () => {
    assert.equal(normaliseUsername('alice'), 'alice');
    assert.equal(normaliseUsername('Alice'), 'alice');
    assert.equal(normaliseUsername('ALICE.Smith-2_x'), 'alice.smith-2_x');
    assert.equal(normaliseUsername('0day'), '0day');
    assert.equal(normaliseUsername('a'), 'a');
    assert.equal(normaliseUsername('a'.repeat(64)), 'a'.repeat(64));
  });

  test('refuses what it would have to mangle', () => {
    for (const raw of [
      '', 'a'.repeat(65), 'Bad Name', ' alice', 'alice ', 'alice\n', 'Alice@INFN.it', 'a/b', 'a:b', 'a+b',
      '-alice', '.alice', '_alice', 'ali%63e', 'al\u0000ice',
    ]) {
      assert.equal(normaliseUsername(raw), null, JSON.stringify(raw));
    }
  });

  test('refuses Unicode look-alikes instead of transliterating them', () => {
    assert.equal(normaliseUsername('\u0430lice'), null); // Cyrillic а
    assert.equal(normaliseUsername('\u212Aate'), null); // KELVIN SIGN lowercases to ASCII "k"
    assert.equal('\u212Aate'.toLowerCase(), 'kate'); // ...which is why non-ASCII is refused first
    assert.equal(normaliseUsername('\u0130lker'), null); // Turkish dotted capital I
    assert.equal(normaliseUsername('jos\u00e9'), null);
    assert.equal(normaliseUsername('ａlice'), null); // fullwidth a
  });

  test('refuses non-strings', () => {
    assert.equal(normaliseUsername(42 as unknown as string), null);
    assert.equal(normaliseUsername(undefined as unknown as string), null);
  });
});

describe('isValidUsername', () => {
  test('accepts only already-normalised names', () => {
    assert.equal(isValidUsername('alice'), true);
    assert.equal(isValidUsername('Alice'), false);
    assert.equal(isValidUsername('bad name'), false);
    assert.equal(isValidUsername(''), false);
    assert.equal(isValidUsername(null), false);
  });
});

describe('usernameProblem', () => {
  test('explains the refusal in words a user understands', () => {
    assert.equal(usernameProblem('alice'), null);
    assert.equal(usernameProblem('Bad Name'), 'it contains space; only letters, digits, "-", "_" and "." are allowed');
    assert.equal(usernameProblem('Alice@INFN.it'), 'it contains "@"; only letters, digits, "-", "_" and "." are allowed');
    assert.equal(usernameProblem(''), 'it is empty');
    assert.equal(usernameProblem('-x'), 'it must start with a letter or a digit');
    assert.equal(usernameProblem('a'.repeat(65)), 'it is longer than 64 characters');
    assert.match(usernameProblem('\u0430lice') ?? '', /outside plain ASCII/);
    assert.equal(usernameProblem(7), 'it is not a text value');
  });
});
