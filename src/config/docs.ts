import { z } from 'zod';
import { ConfigSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
}

/** Renders the config reference (docs/config.md) from the schema, so the two never disagree. */
export function configReference(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: string[] = [];
  const walk = (node: JsonSchema, path: string) => {
    const n = node.anyOf?.find((a) => a.type !== 'null') ?? node;
    if (path) {
      const type = n.enum ? n.enum.map((e) => JSON.stringify(e)).join(' \\| ') : Array.isArray(n.type) ? n.type.join(' \\| ') : n.type === 'array' ? `list of ${n.items?.type ?? 'objects'}` : n.type ?? 'any';
      const def = node.default === undefined ? '' : `\`${JSON.stringify(node.default)}\``;
      rows.push(`| \`${path}\` | ${type} | ${def} | ${(node.description ?? n.description ?? '').replace(/\|/g, '\\|')} |`);
    }
    if (n.properties) for (const [k, v] of Object.entries(n.properties)) walk(v, path ? `${path}.${k}` : k);
    if (n.type === 'array' && n.items?.properties) for (const [k, v] of Object.entries(n.items.properties)) walk(v, `${path}[].${k}`);
  };
  walk(schema, '');
  return [
    '# Configuration reference',
    '',
    'highrate reads one YAML file (`highrate up --config FILE`, or `<data-dir>/config.yaml`).',
    'Unknown keys and bad values are errors that name the key; check a file with',
    '`highrate config check FILE`. This page is generated from `src/config/schema.ts`',
    '(`highrate config docs > docs/config.md`); a test fails when they differ.',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
