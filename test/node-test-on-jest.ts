// node:test's API, as these tests use it, on jest's globals (jest.config.js maps
// `node:test` here): test and describe with their options (skip with a reason, timeout,
// concurrency), before/after/afterEach, and the context's diagnostic. The tests keep
// node:test's types and can still run under `node --test`.
import type { TestContext } from "node:test";

interface Options {
  skip?: boolean | string;
  timeout?: number;
  concurrency?: number | boolean;
}
type Body = (t: TestContext) => unknown;

const jestTest: any = (globalThis as any).test;
const jestDescribe: any = (globalThis as any).describe;
/** Inside a describe with concurrency: its tests run side by side (test.concurrent). */
let concurrent = false;

function split<F>(a: Options | F | undefined, b: F | undefined): [Options, F] {
  return typeof a === "function" ? [{}, a as F] : [(a as Options) ?? {}, b as F];
}

function skipped(name: string, skip: Options["skip"]): boolean {
  if (!skip) return false;
  // jest prints no reason for a skip: the reason goes to the log, as node's reporter shows it.
  if (typeof skip === "string") process.stderr.write(`skipped: ${name}: ${skip}\n`);
  return true;
}

function context(name: string): TestContext {
  return {
    name,
    diagnostic: (message: string) => process.stdout.write(`# ${name}: ${message}\n`),
  } as unknown as TestContext;
}

export function test(name: string, a?: Options | Body, b?: Body): void {
  const [opts, body] = split<Body>(a, b);
  if (skipped(name, opts.skip)) return jestTest.skip(name, () => undefined);
  const run = concurrent ? jestTest.concurrent : jestTest;
  run(name, () => body(context(name)), opts.timeout);
}

export function describe(name: string, a?: Options | (() => void), b?: () => void): void {
  const [opts, body] = split<() => void>(a, b);
  if (skipped(name, opts.skip)) return jestDescribe.skip(name, () => undefined);
  jestDescribe(name, () => {
    const outer = concurrent;
    concurrent = typeof opts.concurrency === "number" ? opts.concurrency > 1 : opts.concurrency === true;
    try {
      body();
    } finally {
      concurrent = outer;
    }
  });
}

type Hook = (fn: () => unknown, opts?: { timeout?: number }) => void;
const hook =
  (jestHook: any): Hook =>
  (fn, opts) =>
    jestHook(fn, opts?.timeout);
export const before = hook((globalThis as any).beforeAll);
export const after = hook((globalThis as any).afterAll);
export const afterEach = hook((globalThis as any).afterEach);
