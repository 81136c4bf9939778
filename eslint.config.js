// Lint rules, including the room boundaries of ARCHITECTURE.md:
// who may import whom is enforced here, not left to memory.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'tls', 'crypto', 'http', 'https', 'stream'];

/** Forbids importing the given rooms (folder globs relative to anywhere). */
function rooms(message, ...patterns) {
  return patterns.map((group) => ({ group: [group, `**/${group.replace(/^\.*\/?/, '')}`], message }));
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'release/**', 'node_modules/**', 'proto/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['proto/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: rooms('proto/ imports nothing of ours', 'hub/*', 'agent/*', 'artifact/*', 'src-main/*', 'src-preload/*', 'src-renderer/*', 'cli/*') }] },
  },
  {
    files: ['artifact/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: rooms('artifact/ imports only proto/', 'hub/*', 'agent/*', 'src-main/*', 'src-preload/*', 'src-renderer/*', 'cli/*') }] },
  },
  {
    files: ['hub/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: rooms('hub/ imports only proto/ and artifact/', 'agent/*', 'src-main/*', 'src-preload/*', 'src-renderer/*', 'cli/*') }] },
  },
  {
    files: ['agent/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: rooms('agent/ imports only proto/ and artifact/', 'hub/*', 'src-main/*', 'src-preload/*', 'src-renderer/*', 'cli/*') }] },
  },
  {
    files: ['cli/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'fleetctl never loads Electron' }],
        patterns: rooms('fleetctl shares src-main/services, nothing else of the console', 'agent/*', 'src-preload/*', 'src-renderer/*', 'src-main/main*', 'src-main/ipc*'),
      }],
    },
  },
  {
    files: ['src-main/**'],
    ignores: ['src-main/main.ts', 'src-main/ipc/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'only src-main/main.ts and src-main/ipc/ may import electron: services run under plain Node' }],
        patterns: rooms('the main process never imports the renderer, preload or agent', 'src-renderer/*', 'src-preload/*', 'cli/*'),
      }],
    },
  },
  {
    files: ['src-main/common/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'common/ runs in every process' }],
        patterns: [{ group: nodeBuiltins, message: 'src-main/common runs in the browser too: no Node modules' }, ...rooms('common/ imports nothing else of ours', 'src-main/services/*', 'src-main/bridge/*', 'hub/*', 'agent/*', 'proto/*')],
      }],
    },
  },
  {
    files: ['src-preload/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: rooms('preload imports only src-main/common', 'src-main/services/*', 'src-main/bridge/*', 'hub/*', 'agent/*', 'src-renderer/*', 'cli/*') }] },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'the renderer reaches the world only through window.fleet' }],
        patterns: [
          { group: nodeBuiltins, message: 'the renderer never uses Node modules' },
          { group: ['**/src-main/*', '!**/src-main/common'], message: 'the renderer imports only src-main/common (API types)' },
          { group: ['**/src-main/services/*', '**/src-main/bridge/*', '**/src-main/ipc/*', '**/src-main/main*'], message: 'the renderer imports only src-main/common (API types)' },
          ...rooms('the renderer imports only src-main/common', 'hub/*', 'agent/*', 'proto/*', 'cli/*', 'src-preload/*'),
        ],
      }],
    },
  },
);
