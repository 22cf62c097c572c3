import { fail } from '../../errors/catalogue.js';
import type { Container, Pod } from '../types.js';
import { configMapEntries, needConfigMap, needSecret, secretEntries, type PodObjects } from './objects.js';

/** k8s `IsEnvVarName`: what envFrom keys must look like to become variables (others are skipped). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Kubernetes variable references: `$(NAME)` becomes NAME's value when NAME is defined and stays
 * as written otherwise; `$$` is an escaped `$` (so `$$(NAME)` gives `$(NAME)`); any other `$`
 * is kept. Applied to env values (with the variables defined before them) and to command and args
 * (with the container's final environment), as the kubelet does. Nothing else is expanded: the
 * script passes every value single-quoted.
 */
export function expandReferences(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 2;
        continue;
      }
      const name = input.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close + 1;
    } else {
      out += '$' + next;
      i += 2;
    }
  }
  return out;
}

function fieldValue(pod: Pod, path: string, podIP: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace ?? 'default';
    case 'metadata.uid': return pod.metadata.uid;
    case 'status.podIP': case 'status.hostIP': return podIP;
    default: throw fail('BAD_REQUEST', `Unsupported fieldRef "${path}".`);
  }
}

export interface EnvOptions {
  /** The address the pod's processes are reachable at (status.podIP); local pods: 127.0.0.1. */
  podIP: string;
}

/**
 * The container's environment, in order: HOSTNAME (the pod name, as a runtime sets it), then
 * `envFrom` sources in order (with their prefix), then `env` (which wins over envFrom), with
 * `valueFrom` resolved from the pod's objects and `$(VAR)` references expanded.
 */
export function resolveEnv(c: Container, pod: Pod, objs: PodObjects, opts: EnvOptions): Map<string, string> {
  const env = new Map<string, string>([['HOSTNAME', pod.metadata.name]]);
  const by = `container "${c.name}"`;
  for (const src of c.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    let entries: Map<string, Buffer> | null = null;
    if (src.configMapRef) {
      const cm = needConfigMap(objs, src.configMapRef.name, src.configMapRef.optional, `envFrom of ${by}`);
      // envFrom takes a ConfigMap's `data` only, as the kubelet does.
      entries = cm ? configMapEntries({ metadata: cm.metadata, data: cm.data }) : null;
    } else if (src.secretRef) {
      const s = needSecret(objs, src.secretRef.name, src.secretRef.optional, `envFrom of ${by}`);
      entries = s ? secretEntries(s) : null;
    } else {
      throw fail('BAD_REQUEST', `envFrom of ${by} names neither a configMapRef nor a secretRef.`);
    }
    for (const [key, value] of entries ?? []) {
      const name = prefix + key;
      if (ENV_NAME.test(name)) env.set(name, value.toString('utf8'));
    }
  }
  for (const v of c.env ?? []) {
    if (typeof v?.name !== 'string' || v.name === '' || v.name.includes('=') || v.name.includes('\0')) {
      throw fail('BAD_REQUEST', `Invalid environment variable name ${JSON.stringify(v?.name)} in ${by}.`);
    }
    const value = envValue(v, pod, objs, opts, by, env);
    if (value !== undefined) env.set(v.name, value);
  }
  return env;
}

function envValue(v: NonNullable<Container['env']>[number], pod: Pod, objs: PodObjects, opts: EnvOptions, by: string, env: Map<string, string>): string | undefined {
  const where = `env ${v.name} of ${by}`;
  const from = v.valueFrom;
  if (!from) return expandReferences(String(v.value ?? ''), (n) => env.get(n));
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const s = needSecret(objs, ref.name, ref.optional, where);
    const value = s ? secretEntries(s).get(ref.key) : undefined;
    if (value === undefined && !ref.optional) throw fail('BAD_REQUEST', `Secret "${ref.name}" has no key "${ref.key}" (${where}).`);
    return value?.toString('utf8');
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const cm = needConfigMap(objs, ref.name, ref.optional, where);
    const value = cm ? configMapEntries(cm).get(ref.key) : undefined;
    if (value === undefined && !ref.optional) throw fail('BAD_REQUEST', `ConfigMap "${ref.name}" has no key "${ref.key}" (${where}).`);
    return value?.toString('utf8');
  }
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, opts.podIP);
  throw fail('BAD_REQUEST', `Unsupported valueFrom in ${where}.`);
}

/** command + args with `$(VAR)` references expanded against the container's environment. */
export function resolveArgv(c: Container, env: Map<string, string>): string[] {
  const words = [...(c.command ?? []), ...(c.args ?? [])];
  return words.map((w) => {
    if (typeof w !== 'string') throw fail('BAD_REQUEST', `command and args of container "${c.name}" must be strings.`);
    if (w.includes('\0')) throw fail('BAD_REQUEST', `command and args of container "${c.name}" must not contain NUL.`);
    return expandReferences(w, (n) => env.get(n));
  });
}
