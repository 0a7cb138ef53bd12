// The TypeScript linter `pnpm test` runs. The rules are typescript-eslint's
// recommended set plus the conventions the code already follows; the
// generated napi-rs loader and build output are not ours to lint.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'native/index.d.ts', 'native/target/**', '.tap/**', 'coverage/**', '.venv-mlserver/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // TypeScript itself checks names; the rule only misreads type-only globals there.
  { files: ['**/*.ts'], rules: { 'no-undef': 'off' } },
  {
    rules: {
      // An unused parameter kept for an interface's shape is written with a leading _.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Tests match terminal output, ANSI escapes included, and read the JSON heart answers without declaring its whole shape.
  { files: ['**/test/**'], rules: { 'no-control-regex': 'off', '@typescript-eslint/no-explicit-any': 'off' } },
  // The live view runs in the browser.
  {
    files: ['packages/stream/static/**/*.js'],
    languageOptions: { globals: { document: 'readonly', window: 'readonly', getComputedStyle: 'readonly', EventSource: 'readonly', requestAnimationFrame: 'readonly', MediaSource: 'readonly', navigator: 'readonly', location: 'readonly' } },
  },
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', SharedArrayBuffer: 'readonly', Atomics: 'readonly' } },
  },
)
