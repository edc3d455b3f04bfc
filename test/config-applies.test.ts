// Every key of the schema has an example, and every key a stack gives reaches what the program
// builds or is refused naming it (test/config-applies.ts): gcp-three-zone.
import { testEveryKeyApplies, testExamplesCoverTheSchema } from "./config-applies";

testExamplesCoverTheSchema();
testEveryKeyApplies("gcp-three-zone");
