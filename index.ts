// Entry point of `pulumi up`: a cluster stack or a federation stack, by kubeadm-ha:layout.
import * as pulumi from "@pulumi/pulumi";
import { isFederation } from "./components/config/federation";
import { clusterMain } from "./components/cluster-main";
import { federationMain } from "./components/federation-main";

export = async () => {
  const all = pulumi.runtime.allConfig();
  return isFederation(all) ? federationMain(all) : clusterMain(all);
};
