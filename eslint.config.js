// Lint rules: the recommended sets of ESLint and typescript-eslint, one type-aware rule (no `!` or
// `as` that the types do not need), and Prettier's formatting (checked by `prettier --check`).
// Plain JavaScript files (bin/, a user's .mjs script such as the README's examples) run on Node, so
// Node's globals (process, console, URL...) are defined there.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

export default tseslint.config(
  { ignores: ["dist/", "dist.building-*/", "dist.old-*/", "node_modules/", "runs/", ".cache/", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], languageOptions: { globals: globals.node } },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
    },
  },
  prettier,
);
