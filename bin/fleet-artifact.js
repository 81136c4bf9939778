#!/usr/bin/env node
// npm bin shim: runs the TypeScript entry through tsx's loader, so the
// installed package needs no separate build step.
import { register } from 'tsx/esm/api';

register();
await import('../artifact/cli.ts');
