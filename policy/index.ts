// The kubeadm-ha policy pack: `pulumi preview --policy-pack policy` (or `pulumi up`).
// The rules live in rules.ts, where the tests reach them; a PolicyPack starts a
// server and only one may exist per process, so it is built here and nowhere else.
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("kubeadm-ha", { enforcementLevel: "mandatory", policies: POLICIES });
