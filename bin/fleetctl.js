#!/usr/bin/env node
// npm bin shim: the bundle when it is current, else the TypeScript through tsx (bin/run-program.js).
import { runProgram } from './run-program.js';

await runProgram('fleetctl', 'cli/fleetctl.ts');
