// ESLint for the Thunderbird extension's JavaScript (make lint). The extension's own code is ES
// modules run by Thunderbird; the e2e driver extension and the prompt hook are classic scripts.
import js from "@eslint/js";
import globals from "globals";

const webextension = { messenger: "readonly", browser: "readonly" };

export default [
  // installer/*.js is JScript run by Windows Installer (ES3, ActiveX): not this linter's language.
  { ignores: ["node_modules/", ".venv/", "build/", "dist/", "collector/", "docs/", "installer/"] },
  js.configs.recommended,
  {
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    files: ["thunderbird_ext/**/*.js", "tests/thunderbird_e2e/background_hook.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.browser, ...webextension } },
  },
  {
    files: ["tests/thunderbird_e2e/ext/**/*.js", "tests/thunderbird_e2e/prompt_hook.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser, ...webextension } },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
