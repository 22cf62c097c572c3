import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configReference } from './docs.js';
import { loadConfigFile, validateConfig } from './load.js';

test('the empty config gives the embedded defaults with one default profile', () => {
  const c = validateConfig({});
  assert.equal(c.hub.port, 8000);
  assert.equal(c.auth.kind, 'embedded');
  assert.equal(c.profiles.length, 1);
  assert.equal(c.profiles[0]!.name, 'default');
  assert.equal(c.profiles[0]!.executor, 'local');
  assert.equal(c.executors[0]!.kind, 'local');
  assert.ok(Object.isFrozen(c.profiles[0]!.cores.choices));
});

test('unknown keys are named, with their path', () => {
  assert.throws(() => validateConfig({ hub: { prot: 8000 } }), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes('hub.prot: unknown key'));
  assert.throws(() => validateConfig({ profiles: [{ name: 'a', corez: 1 }] }), (e: any) => e.message.includes('profiles.0.corez: unknown key'));
});

test('bad values and cross-references are named', () => {
  assert.throws(() => validateConfig({ hub: { port: 'eighty' } }), (e: any) => e.message.includes('hub.port'));
  assert.throws(() => validateConfig({ profiles: [{ name: 'a', executor: 'slurm' }] }), (e: any) => e.message.includes('profiles.0.executor: no executor named "slurm"'));
  assert.throws(() => validateConfig({ profiles: [{ name: 'a', memory: { choices: ['lots'] } }] }), (e: any) => e.message.includes('profiles.0.memory.choices.0'));
  assert.throws(() => validateConfig({ auth: { kind: 'oidc' } }), (e: any) => e.message.includes('auth.oidc: required'));
  assert.throws(() => validateConfig({ profiles: [{ name: 'a', default: true }, { name: 'b', default: true }] }), /more than one default profile/);
  assert.throws(() => validateConfig({ storage: { tokenSource: 'oidc' } }), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes('storage.tokenSource: "oidc" needs auth.kind "oidc"'));
  assert.throws(() => validateConfig({ storage: { tokenSource: 'iam' } }), (e: any) => e.message.includes('storage.tokenSource'));
});

test('YAML files: bad YAML and missing files are clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hr-config-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'hub: [unclosed');
    assert.throws(() => loadConfigFile(join(dir, 'bad.yaml')), /is not valid YAML/);
    assert.throws(() => loadConfigFile(join(dir, 'missing.yaml')), /Cannot read config file/);
    writeFileSync(join(dir, 'ok.yaml'), 'auth:\n  kind: oidc\n  oidc:\n    issuer: https://iam.example.org/\n    clientId: hub\n    groupsClaim: wlcg.groups\n  allowedGroups: [/cms]\n');
    const c = loadConfigFile(join(dir, 'ok.yaml'));
    assert.equal(c.auth.oidc!.groupsClaim, 'wlcg.groups');
    assert.deepEqual(c.auth.allowedGroups, ['/cms']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('docs/config.md is the generated reference', () => {
  const docs = readFileSync(fileURLToPath(new URL('../../../docs/config.md', import.meta.url)), 'utf8');
  assert.equal(docs, configReference(), 'regenerate with: node bin/highrate.js config docs > docs/config.md');
});
