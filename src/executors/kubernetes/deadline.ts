import { createConfiguration, IsomorphicFetchHttpLibrary, ResponseContext, ServerConfiguration, wrapHttpLibrary, type Configuration, type HttpLibrary, type KubeConfig, type RequestContext } from '@kubernetes/client-node';
import { fail, type HighrateError } from '../../errors/catalogue.js';

/** Default deadline of one Kubernetes API call (`kubernetes.requestTimeout`), ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** A call the API server did not finish in time: 504, retry later (the call may still take effect). */
export function apiTimeout(what: string, ms: number): HighrateError {
  return fail('EXECUTOR_TIMEOUT', `The Kubernetes API server did not answer within ${ms / 1000} s (${what}). Try again in a moment.`, { extra: { retryAfter: 10 } });
}

/**
 * The client's HTTP library with a deadline on each call, its response body included. The
 * generated client has neither a timeout nor an abort signal; past the deadline the call's agent
 * (KubeConfig makes one per request, with its TLS settings) is destroyed, which closes the socket,
 * and the call fails with EXECUTOR_TIMEOUT instead of hanging the caller (and the hub's reconcile).
 */
export function deadlineHttpLibrary(timeoutMs: number): HttpLibrary {
  const inner = new IsomorphicFetchHttpLibrary();
  return wrapHttpLibrary({
    async send(request: RequestContext): Promise<ResponseContext> {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(function kubernetesCallExpired() {
          request.getAgent()?.destroy();
          reject(apiTimeout(`${request.getHttpMethod()} ${new URL(request.getUrl()).pathname}`, timeoutMs));
        }, timeoutMs);
      });
      const answered = (async function callAndReadBody() {
        const res = await inner.send(request).toPromise();
        const body = await res.body.binary();
        return new ResponseContext(res.httpStatusCode, res.headers, { text: async () => body.toString('utf8'), binary: async () => body });
      })();
      try {
        return await Promise.race([answered, expired]);
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/** KubeConfig.makeApiClient, with each call's deadline. */
export function makeApiClient<T>(kc: KubeConfig, api: new (config: Configuration) => T, timeoutMs: number): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw fail('CONFIG_INVALID', 'The Kubernetes configuration names no cluster (set kubeconfig, context or inCluster).');
  return new api(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: kc }, httpApi: deadlineHttpLibrary(timeoutMs) }));
}

/**
 * The same deadline for a call the generated client does not make (the streaming log's start):
 * past it the caller gets EXECUTOR_TIMEOUT, and `late` is given what arrives afterwards to close it.
 */
export function withDeadline<T>(call: Promise<T>, what: string, timeoutMs: number, late: (value: T) => void): Promise<T> {
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    call.then((v) => {
      if (expired) late(v);
      return v;
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(function kubernetesCallExpired() {
        expired = true;
        reject(apiTimeout(what, timeoutMs));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
