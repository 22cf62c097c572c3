import type { RucioCaller } from './client.js';

/** The RSE endpoints (`/rses/...`). */
export class Rses {
  constructor(private readonly rucio: RucioCaller) {}

  /** `GET /rses/{rse}/attr/` → the RSE's attributes (`{key: value}`); 404 RSENotFound. */
  attributes(rse: string): Promise<Record<string, unknown>> {
    return this.rucio.json('GET', `rses/${encodeURIComponent(rse)}/attr/`);
  }

  /** `GET /rses/{rse}`: the RSE with its protocols. */
  get(rse: string): Promise<Record<string, unknown>> {
    return this.rucio.json('GET', `rses/${encodeURIComponent(rse)}`);
  }

  /** `GET /rses/?expression=…`: RSE names matching an expression (each line `{"rse": name}`). */
  async expression(expression: string): Promise<string[]> {
    const out: string[] = [];
    for await (const r of this.rucio.stream<{ rse: string }>('GET', 'rses/', { query: { expression } })) out.push(r.rse);
    return out;
  }
}
