// One master at a time: each master's VM (clouds) and its preparation (hosts you own) wait
// until the previous master is healthy again. The VMs are created before the bootstrap
// steps that prove a master healthy exist, so the waits are handed over as promises the
// bootstrap keeps.
import * as pulumi from "@pulumi/pulumi";

export class MasterTurns {
  private readonly healthy: Array<{ promise: Promise<pulumi.Resource>; keep: (r: pulumi.Resource) => void }>;

  constructor(masters: number) {
    this.healthy = Array.from({ length: masters }, () => {
      let keep!: (r: pulumi.Resource) => void;
      const promise = new Promise<pulumi.Resource>((resolve) => (keep = resolve));
      return { promise, keep };
    });
  }

  /** What master `index`'s machine waits for: the master before it healthy again (nothing for the first). */
  after(index: number): pulumi.Input<pulumi.Resource>[] {
    return index === 0 ? [] : [this.healthy[index - 1].promise];
  }

  /** Every master's waits, in plan order. */
  all(): pulumi.Input<pulumi.Resource>[][] {
    return this.healthy.map((_, i) => this.after(i));
  }

  /** The step that proves master `index` healthy again: the next master's turn starts after it. */
  healthyAt(index: number, step: pulumi.Resource): void {
    this.healthy[index].keep(step);
  }
}
