import { runProxyProcess } from '../proxy/index.js';

/**
 * `highrate proxy …`: the proxy alone, flags as configurable-http-proxy's plus highrate's
 * extensions (--authorize-url, --login-url, --allow-origin, --auth-token-file, --dask-port…):
 * `highrate proxy --help` lists them all (src/proxy/options.ts USAGE).
 */
export async function proxy(argv: string[]): Promise<number> {
  const code = await runProxyProcess(argv);
  // The proxy process keeps running until signalled; runProxyProcess resolves when it ends.
  return code;
}
