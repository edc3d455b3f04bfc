// Every key a stack gives reaches what the program builds or is refused naming it (test/config-applies.ts): onprem-local-proxy.
import { testEveryKeyApplies } from "./config-applies";

testEveryKeyApplies("onprem-local-proxy");
