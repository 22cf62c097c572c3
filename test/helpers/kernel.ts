import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { http } from './http.js';

/** Starts a kernel through the proxy with Jupyter's REST API; returns its id. */
export async function startKernel(base: string, serverPath: string, headers: Record<string, string>): Promise<string> {
  const r = await http('POST', `${base}${serverPath}api/kernels`, { headers, body: {} });
  if (r.status !== 201) throw new Error(`kernel start: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json().id;
}

/** Opens the kernel's channels WebSocket through the proxy. Rejects with the HTTP status on refusal. */
export function openChannels(base: string, serverPath: string, kernelId: string, headers: Record<string, string>): Promise<WebSocket> {
  const url = `${base.replace('http', 'ws')}${serverPath}api/kernels/${kernelId}/channels`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`WebSocket refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

/** Runs `code` in the kernel and resolves with what it printed on stdout. */
export function execute(ws: WebSocket, code: string, timeoutMs = 30_000): Promise<string> {
  const msgId = randomUUID();
  const session = randomUUID();
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { ws.off('message', onMessage); reject(new Error(`no reply to ${code} (so far: ${out})`)); }, timeoutMs);
    function onMessage(data: WebSocket.RawData) {
      const msg = JSON.parse(data.toString());
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
      if (msg.msg_type === 'error') { clearTimeout(timer); ws.off('message', onMessage); reject(new Error(`${msg.content.ename}: ${msg.content.evalue}`)); }
      if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') {
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(out);
      }
    }
    ws.on('message', onMessage);
    ws.send(JSON.stringify({
      header: { msg_id: msgId, username: 'test', session, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
      parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
      content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
    }));
  });
}

/** Reads a progress stream to its end; returns the events. */
export async function readProgress(base: string, path: string, headers: Record<string, string>): Promise<any[]> {
  const r = await http('GET', `${base}${path}`, { headers });
  if (r.status !== 200) throw new Error(`progress: ${r.status} ${r.text}`);
  return r.text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => JSON.parse(b.slice(6)));
}
