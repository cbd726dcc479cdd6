// Lint runs with type information: no-floating-promises and no-misused-promises
// are the rules a concurrency library cannot do without.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Lint blocks forbidding, per folder of src/, value imports of the named layers (and always of the facade, the CLI and BullMQ).
 * @param {Record<string, string[]>} map
 */
function layers(map) {
  return Object.entries(map).map(([files, banned]) => ({
    files: [files],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            ...banned.map((layer) => ({ group: [`../${layer}/*`, `../../${layer}/*`], message: `this layer does not import src/${layer}/ (docs/ARCHITECTURE.md, "Layers")`, allowTypeImports: true })),
            { group: ['../pool.js', '../index.js', '../cli/*', '../bullmq/*', '../../cli/*', '../../bullmq/*'], message: 'the engine and its layers sit beneath the facade, the CLI and BullMQ', allowTypeImports: true },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  // test/package/consumer/ is a user's project: the tarball test type-checks it against the packed package.
  { ignores: ['dist/', '.build/', '.test-build/', 'test/package/consumer/', 'node_modules/', 'bench/node_modules/', 'bench/results*.json', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // bench/ has its own tsconfig.json: it holds more files than the default project may.
        projectService: { allowDefaultProject: ['*.js', 'examples/*/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Rejections pass through whatever a task threw, which may be unknown.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Layers (docs/ARCHITECTURE.md): what each folder of src/ may import.
  // Type-only imports are allowed where a layer needs another's shapes.
  ...layers({
    // Code that runs inside workers, and the handles the pool drives them by, never reach into the engine.
    'src/runtime/**/*.ts': ['engine', 'worker', 'config', 'queue', 'sizing', 'supervision', 'dead-letter', 'time'],
    'src/worker/**/*.ts': ['engine', 'supervision', 'sizing', 'queue', 'dead-letter'],
    // The public types: shapes only, nothing internal runs from here.
    'src/api/**/*.ts': ['engine', 'worker', 'runtime', 'config', 'queue', 'sizing', 'supervision', 'dead-letter', 'time', 'wire', 'observability'],
    // The wire, time and queue are leaves beneath the engine.
    'src/wire/**/*.ts': ['engine', 'worker', 'runtime', 'config', 'queue', 'sizing', 'supervision', 'dead-letter', 'time'],
    'src/time/**/*.ts': ['engine', 'worker', 'runtime', 'config', 'queue', 'sizing', 'supervision', 'dead-letter', 'wire', 'observability'],
    'src/queue/**/*.ts': ['engine', 'worker', 'runtime', 'config', 'sizing', 'supervision', 'dead-letter', 'time', 'wire', 'observability'],
    // Pure policies: decide, never act.
    'src/sizing/**/*.ts': ['engine', 'runtime', 'queue', 'supervision', 'dead-letter', 'wire'],
    'src/supervision/**/*.ts': ['runtime', 'queue', 'sizing', 'dead-letter', 'worker'],
    // The engine sits beneath the public API, the CLI and BullMQ.
    'src/engine/**/*.ts': [],
    'src/config/**/*.ts': ['engine', 'worker', 'queue'],
    'src/observability/**/*.ts': ['engine', 'worker', 'config', 'queue', 'sizing', 'supervision', 'dead-letter'],
    'src/dead-letter/**/*.ts': ['engine', 'worker', 'runtime', 'queue', 'sizing', 'supervision', 'wire', 'time', 'observability'],
  }),
  {
    // The benchmark is untyped JavaScript driving untyped peers: the no-unsafe-*
    // rules would flag every value. The promise rules still apply.
    files: ['bench/**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', performance: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Examples are plain Node ESM: Node's globals are there.
    files: ['examples/**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', performance: 'readonly' },
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite'], package: 'node:test' }] }],
    },
  },
  {
    // Measurement scripts: plain Node ESM, linted without type information.
    files: ['scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: null },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly', setImmediate: 'readonly', globalThis: 'readonly' },
    },
  },
);
