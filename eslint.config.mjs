// The project's lint (npm run lint, part of npm test): typescript-eslint's recommended rules,
// formatting left to Prettier (npm run format), and the layering as a check: the validated
// config and the pure plan import no Pulumi package (they are tested without the engine and
// read by render, topology and policy alike), and config does not import plan (data flows
// stack file -> config -> plan -> components).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";
import globals from "globals";

const noPulumi = { group: ["@pulumi/*"], message: "config/ and plan/ are pure: no Pulumi package (the components create resources from the plan)" };

export default tseslint.config(
  { ignores: ["node_modules/", "out/", "bin/", "test/fixtures/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // `const { key: _, ...rest } = x` leaves a key out on purpose.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, argsIgnorePattern: "^_" }],
      // Tests match lines of rendered scripts, where two spaces are the script's indentation.
      "no-regex-spaces": "off",
    },
  },
  {
    // The program itself is typed throughout. Tests, the lab, the render's mocks and the policy
    // pack walk what the engine, kubeadm and YAML hand them (any, checked by their assertions).
    files: ["test/**", "lab/**", "render/**", "policy/**", "bench/**", "toolchain/**", "bundle/**", "engine/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // The lab's probes run under plain node inside a lab host's network namespace.
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["components/config/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [noPulumi, { group: ["**/plan", "**/plan/*"], message: "config/ comes before plan/: the plan reads the validated config, never the other way" }] },
      ],
    },
  },
  ...[
    ["components/plan/*.ts", "../"],
    ["components/plan/*/*.ts", "../../"],
  ].map(([files, up]) => ({
    files: [files],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            noPulumi,
            {
              group: [`${up}*`, `!${up}config`, `${up}gcp/*`, `${up}aws/*`, `${up}federation/*`],
              message: "plan/ sits below the components: it imports config/ and itself, never a component",
            },
          ],
        },
      ],
    },
  })),
);
