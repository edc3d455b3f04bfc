// Runs `f` over `items`, at most `width` at a time (default: one per core). The
// renders it runs are separate Node processes, so cores are the limit.
import { cpus } from "os";

export async function inParallel<T>(items: T[], f: (x: T) => Promise<void>, width = cpus().length): Promise<void> {
  const queue = [...items];
  const worker = async () => {
    for (let x = queue.shift(); x !== undefined; x = queue.shift()) await f(x);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
}
