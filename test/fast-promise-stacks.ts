// jest's setup, after its source-map support is installed: @pulumi/pulumi takes a stack trace
// of every promise it makes (runtime/debuggable.js, to report leaked promises at exit), and
// with jest's source-map support each of those traces is mapped through the transpiled
// sources' maps, which was half of the CPU time of a mock build. Those traces are left as V8
// writes them; every other stack (a failing test's) is still mapped to the TypeScript lines.
const mapped = Error.prepareStackTrace;
if (mapped) {
  Error.prepareStackTrace = (error, frames) =>
    frames[0]?.getFunctionName() === "debuggablePromise" ? `${String(error)}${frames.map((f) => `\n    at ${String(f)}`).join("")}` : mapped(error, frames);
}
