// ESLint: typescript-eslint's recommended rules without type information (so a run takes seconds),
// plus the house limit on function length. Formatting is Prettier's (.prettierrc.json); layers and
// import cycles are dependency-cruiser's (.dependency-cruiser.cjs).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['native/build/', 'build/', 'bench/out/', 'bench/.peers/', 'test-output/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // No function over ~80 lines (the two hot-path parsers say why they are longer where they start).
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
      // As tsc's noUnusedLocals: `_`-names and the siblings of a ...rest are left out on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Config values, notices and HTTP heads are checked for control characters with regexes on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/stats/dashboard/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    // A test file is a few long describe() blocks; the tests inside them are what stay short.
    files: ['test/**'],
    rules: { 'max-lines-per-function': 'off' },
  },
);
