/**
 * Adler-32 (RFC 1950 §8.2) as Rucio writes it: seeded at 1, eight lowercase hex digits,
 * zero-padded (`common/checksum.py`). Incremental, so a download is checked as it streams.
 */
export class Adler32 {
  #a = 1;
  #b = 0;

  update(buf: Uint8Array): this {
    const MOD = 65521;
    // NMAX: the most bytes before b can overflow 2^53 safely is far more; 5552 keeps it in 32 bits as zlib does.
    let a = this.#a;
    let b = this.#b;
    for (let i = 0; i < buf.length; ) {
      const end = Math.min(i + 5552, buf.length);
      for (; i < end; i++) {
        a += buf[i]!;
        b += a;
      }
      a %= MOD;
      b %= MOD;
    }
    this.#a = a;
    this.#b = b;
    return this;
  }

  hex(): string {
    return ((this.#b * 65536 + this.#a) >>> 0).toString(16).padStart(8, '0');
  }
}

/** The adler32 of a whole buffer, as Rucio writes it. */
export function adler32(buf: Uint8Array): string {
  return new Adler32().update(buf).hex();
}
