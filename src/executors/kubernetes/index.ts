import { KubeConfig } from '@kubernetes/client-node';
import { fail } from '../../errors/catalogue.js';

/** The Kubernetes executor: workloads as pods in one namespace, through the API server. */
export { KubernetesExecutor, type KubernetesExecutorOptions } from './executor.js';
export { buildManifests, podName, LABEL_UID, LABEL_EXECUTOR, LABEL_MANAGED, ANNOTATION_NAME, ANNOTATION_NAMESPACE, type ManifestOptions, type Manifests } from './manifests.js';
export { podStatusOf, uidOf } from './status.js';

/** A KubeConfig from the executor's options: in-cluster, a file, or the defaults ($KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(o: { inCluster?: boolean; kubeconfig?: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (o.inCluster) kc.loadFromCluster();
    else if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
    if (o.context) kc.setCurrentContext(o.context);
  } catch (err) {
    throw fail('CONFIG_INVALID', `The Kubernetes configuration could not be loaded: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw fail('CONFIG_INVALID', 'The Kubernetes configuration names no cluster (set kubeconfig, context or inCluster).');
  return kc;
}
