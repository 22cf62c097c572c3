/**
 * The same route-API assertions against our proxy and against the real configurable-http-proxy
 * 5.3 (started from node_modules, killed after): what the hub relies on behaves the same.
 */
import { startProxy } from '../../src/proxy/index.js';
import { describeRouteApi } from './route-api-conformance.js';
import { startChp } from './tools.js';

const TOKEN = 'conformance-token';

describeRouteApi('highrate', TOKEN, async () => {
  const proxy = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: TOKEN });
  return { publicUrl: `http://127.0.0.1:${proxy.publicPort}`, apiUrl: `http://127.0.0.1:${proxy.apiPort}`, stop: () => proxy.close() };
});

describeRouteApi('configurable-http-proxy', TOKEN, async () => {
  const chp = await startChp(TOKEN);
  return { publicUrl: chp.publicUrl, apiUrl: chp.apiUrl, stop: () => chp.stop() };
});
