import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

// The Electron build (`npm run build`, electron-vite): main process, the
// sandboxed preload (one CJS file: sandboxed preloads cannot load ESM or
// other files) and the renderer, all into out/. `npm run build:web`
// (vite.web.config.ts) builds the same renderer for the WebSocket bridge.

const path = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The packaged renderer loads from file://, where no response headers exist: the CSP goes into the page. */
const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function cspMetaTag(): Plugin {
  return {
    name: 'fleet-csp-meta',
    apply: 'build', // the dev server's hot reload needs inline scripts; main.ts sets the CSP header there
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: RENDERER_CSP }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: path('./out/main'),
      rolldownOptions: { input: { index: path('./src-main/main.ts') } },
    },
  },
  preload: {
    build: {
      outDir: path('./out/preload'),
      rolldownOptions: {
        input: { preload: path('./src-preload/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: path('./src-renderer'),
    base: './',
    plugins: [react(), cspMetaTag()],
    build: {
      outDir: path('./out/renderer'),
      minify: true,
      assetsInlineLimit: 0,
      rolldownOptions: { input: { index: path('./src-renderer/index.html') } },
    },
  },
});
