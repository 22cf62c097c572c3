import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../config/load.js';
import { optionsFromBody, validateOptions } from './options.js';

const cfg = validateConfig({
  profiles: [
    { name: 'small', default: true, cores: { choices: [1, 2] }, memory: { choices: ['1G', '2G'], default: '2G' } },
    { name: 'gpu', allowedGroups: ['/cms/gpu'], images: { choices: ['img:a', 'img:b'] } },
  ],
});
const caps = () => ({ images: false, cpuLimits: true, memoryLimits: true, remoteAddress: false, mountPaths: true });

test('defaults come from the default profile', () => {
  const { options } = validateOptions({}, cfg.profiles, { groups: [], capabilities: caps });
  assert.deepEqual(options, { profile: 'small', cores: 1, memory: '2G' });
});

test('the 6.0 body and the plain body give the same options; empty reuses the last', () => {
  assert.deepEqual(optionsFromBody({ user_options: { cores: 2 } }, undefined), { cores: 2 });
  assert.deepEqual(optionsFromBody({ cores: 2 }, undefined), { cores: 2 });
  assert.deepEqual(optionsFromBody(undefined, { cores: 2 }), { cores: 2 });
  assert.throws(() => optionsFromBody({ user_options: {}, evil: 1 }, undefined), { code: 'INVALID_OPTIONS' });
});

test('profiles limited to groups refuse others with 403', () => {
  assert.throws(() => validateOptions({ profile: 'gpu' }, cfg.profiles, { groups: ['/cms'], capabilities: caps }), { code: 'FORBIDDEN' });
  const ok = validateOptions({ profile: 'gpu' }, cfg.profiles, { groups: ['/cms/gpu'], capabilities: caps });
  assert.equal(ok.options.image, undefined, 'no image where the executor does not honour images');
  const withImages = validateOptions({ profile: 'gpu', image: 'img:b' }, cfg.profiles, { groups: ['/cms/gpu'], capabilities: () => ({ ...caps(), images: true }) });
  assert.equal(withImages.options.image, 'img:b');
});
