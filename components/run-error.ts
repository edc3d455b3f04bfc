import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config/validate";

/** Runs `f`; a ConfigError becomes a RunError (Pulumi prints it without a stack trace). */
export async function orConfigError<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
