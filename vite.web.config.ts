import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Builds the renderer alone into out/web, the folder the WebSocket bridge
// serves to a browser (`npm run build:web`). Same sources as the Electron
// renderer (electron.vite.config.ts); only the output folder differs.
export default defineConfig({
  root: fileURLToPath(new URL('./src-renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./out/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Only the bridge's CSP decides what may load: no inlined assets, no data: scripts.
    assetsInlineLimit: 0,
  },
});
