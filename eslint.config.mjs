// ESLint for the JavaScript the app and the bench send to the browser: `npm ci`, then
// `npm run lint` (`eslint --max-warnings=0 .`), as .ci/run does. Each script runs in a page
// as a plain script, never as a module, so each is parsed as one.
import js from "@eslint/js";
import globals from "globals";

// Stricter than "recommended" where a slip would go unnoticed in a page: loose equality,
// var's function-wide scope, a name that hides another, let for what never changes.
const house = {
  eqeqeq: "error",
  "no-var": "error",
  "no-shadow": "error",
  "prefer-const": "error",
};

export default [
  {ignores: ["node_modules/", "build/", "dist/", ".venv/"]},
  js.configs.recommended,
  {
    files: ["src/visionplay/**/static/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: globals.browser,
    },
    rules: house,
  },
  {
    // The Draw tab's and the Face tab's live view's scripts are each the body of the
    // function gr.HTML makes of its js_on_load:
    // Function("element", "trigger", "props", "server", "upload", "watch", script).
    files: ["src/visionplay/ui/static/draw.js", "src/visionplay/ui/static/face_live.js"],
    languageOptions: {
      parserOptions: {ecmaFeatures: {globalReturn: true}},
      globals: {
        element: "readonly",
        trigger: "readonly",
        props: "readonly",
        server: "readonly",
        upload: "readonly",
        watch: "readonly",
      },
    },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: {sourceType: "module", globals: globals.node},
  },
];
