// What users of other tools get by default, as edits of this program's rendered endpoint
// files, so the lab can measure both side by side on the same control plane. Each edit
// names where its numbers come from and fails loudly when the rendered text it edits is
// not there (a silent no-op would make the comparison meaningless).
import { VRRP } from "../components/plan/onprem-endpoint";
import { EndpointVariant } from "./controlplane";

/** `text.replace(re, to)`, refusing to do nothing. */
function edit(text: string, re: RegExp, to: string, what: string): string {
  if (!re.test(text)) throw new Error(`cannot apply "${what}": the rendered file no longer has ${re}`);
  return text.replace(re, to);
}

/**
 * The kubeadm HA guide's example (kubernetes/kubeadm docs/ha-considerations.md,
 * "keepalived and haproxy"): keepalived with VRRPv2's 1 s adverts, a check script run
 * every 3 s that must fail 10 times and then lowers the priority by 2 (priorities 101 on
 * one master, 100 on the others, preemption on); haproxy with haproxy's default check
 * timing (`check`: every 2 s, down after 3) and `option ssl-hello-chk`, which replaces the
 * guide's `httpchk GET /healthz` (one check type per backend) with a TLS handshake.
 */
export const KUBEADM_GUIDE: EndpointVariant = {
  keepalived: (cfg) => {
    let c = edit(cfg, /\n\s*vrrp_version 3/, "", "VRRPv2 (keepalived's default)");
    c = edit(c, /interval \d+\n(\s*)timeout \d+\n\s*fall \d+\n\s*rise \d+/, "interval 3\n$1weight -2\n$1fall 10\n$1rise 2", "check every 3 s, weight -2, fall 10, rise 2");
    c = edit(c, /advert_int [\d.]+/, "advert_int 1", "adverts every 1 s");
    c = edit(c, /\n\s*nopreempt/, "", "preemption on");
    // The first master (the rendered base priority) gets the guide's 101, the others 100.
    const first = new RegExp(`priority ${VRRP.basePriority}\\b`).test(c);
    return edit(c, /priority \d+/, `priority ${first ? 101 : 100}`, "priorities 101/100");
  },
  haproxy: (cfg) => {
    let c = edit(cfg, / check check-ssl verify none inter \d+ fall \d+ rise \d+/g, " check", "haproxy's default check timing");
    c = edit(
      c,
      /option httpchk\n\s*http-check send meth GET uri \/readyz\n\s*http-check expect status 200/,
      "option httpchk GET /healthz\n    http-check expect status 200\n    option ssl-hello-chk",
      "the guide's checks",
    );
    return edit(c, /timeout check \d+ms/, "timeout check 10s", "timeout check 10s");
  },
};

/**
 * Kubespray's per-node proxy (roles/kubernetes/node/templates/loadbalancer/haproxy.cfg.j2):
 * `default-server inter 15s downinter 15s rise 2 fall 2`, HTTPS `GET /healthz` checks.
 */
export const KUBESPRAY: EndpointVariant = {
  haproxy: (cfg) => {
    const c = edit(cfg, / inter \d+ fall \d+ rise \d+/g, " inter 15s downinter 15s rise 2 fall 2", "inter 15s rise 2 fall 2");
    return edit(c, /uri \/readyz/, "uri /healthz", "GET /healthz");
  },
};
