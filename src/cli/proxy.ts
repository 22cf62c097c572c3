import { runProxyProcess } from '../proxy/index.js';

/** `highrate proxy …`: the proxy alone, flags as configurable-http-proxy's (see --help). */
export async function proxy(argv: string[]): Promise<number> {
  const code = await runProxyProcess(argv);
  // The proxy process keeps running until signalled; runProxyProcess resolves when it ends.
  return code;
}
