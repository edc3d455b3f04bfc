// The tests on jest, with SWC's transpile-only TypeScript transform (`tsc --noEmit` is the
// type check, run first by `npm test`). The test files use node:test's API; jest gets it
// from test/node-test-on-jest.ts. The scripts run jest with --experimental-vm-modules: ESLint
// (test/lint.test.ts) loads its config with import(), which jest allows only then.
//
// Two projects:
// - unit (`npm test`): the program's logic, its renders (from the render cache,
//   render/cache.ts) and the real tools on every file it writes (kubeadm, cloud-init,
//   shellcheck, haproxy, keepalived, the policy pack).
// - machines (`npm run test:machines`, called by CI): real software running on this
//   machine, as root: a control plane of real etcd, apiservers, haproxy and keepalived in
//   network namespaces; the real Pulumi engine and our command plugin against sshd; the
//   etcd scripts on three real etcd members (on loopback, and on three machines with kubeadm);
//   containerd loading the bundle; lab hosts.
const MACHINES = ["lab", "lab-hosts", "engine", "engine-roll", "command-provider", "etcd", "etcd-cluster", "bundle", "member"];

const common = {
  // One context with the runner's own globals (jest's default gives each file a vm context whose
  // arrays and objects are not those Node's modules return, which node:assert's strict
  // comparisons tell apart, and a copy of process.env that child processes never see).
  testEnvironment: "jest-environment-node-single-context",
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }] },
  moduleNameMapper: { "^node:test$": "<rootDir>/test/node-test-on-jest.ts" },
  setupFilesAfterEnv: ["<rootDir>/test/fast-promise-stacks.ts"],
};

module.exports = {
  // A test's own timeout (node:test's `timeout` option) where it has one; many wait on real processes.
  testTimeout: 20 * 60_000,
  // Most suites wait on child processes (renders, kubeadm, shellcheck): more workers than cores.
  maxWorkers: 3,
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/*.test.ts"], testPathIgnorePatterns: [`/test/(${MACHINES.join("|")})\\.test\\.ts$`] },
    { ...common, displayName: "machines", testMatch: MACHINES.map((f) => `<rootDir>/test/${f}.test.ts`) },
  ],
};
