// Every key a stack gives reaches what the program builds or is refused naming it (test/config-applies.ts): aws-three-az.
import { testEveryKeyApplies } from "./config-applies";

testEveryKeyApplies("aws-three-az");
