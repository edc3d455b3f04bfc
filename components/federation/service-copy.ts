import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Placement } from "../plan/federation-plan";

export interface ServiceCopyArgs {
  placement: Placement;
  /** Addresses of the member's load balancer for this service (GCP passthrough: delivered with this destination). */
  externalIPs?: pulumi.Input<string[]>;
}

/**
 * One copy of a federated service in one member: its Deployment and a NodePort
 * Service on the fixed node ports the member's load balancer forwards to.
 */
export class ServiceCopy extends pulumi.ComponentResource {
  constructor(name: string, args: ServiceCopyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeadm-ha:federation:ServiceCopy", name, {}, opts);
    const { service, replicas } = args.placement;
    const labels = { "app.kubernetes.io/name": service.name, "app.kubernetes.io/managed-by": "kubeadm-ha-federation" };
    const metadata = { name: service.name, namespace: service.namespace, labels };
    const parent = { parent: this };
    const ns = service.namespace === "default" ? undefined : new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: service.namespace } }, parent);
    const dependsOn = ns ? [ns] : [];
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata,
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: service.name,
                  image: service.image,
                  ports: service.ports.map((p) => ({ containerPort: p.port })),
                  readinessProbe: { httpGet: { path: service.healthCheckPath, port: service.ports[0].port }, periodSeconds: 5 },
                },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn },
    );
    new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata,
        spec: {
          type: "NodePort",
          selector: labels,
          ports: service.ports.map((p) => ({ name: `p${p.port}`, port: p.port, targetPort: p.port, nodePort: p.nodePort, protocol: "TCP" })),
          externalIPs: args.externalIPs,
        },
      },
      { parent: this, dependsOn },
    );
    this.registerOutputs({});
  }
}
