import { createRequire } from 'node:module';

// The agent ships inside the project's package: its version is the package's.
const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export const AGENT_VERSION: string = pkg.version;
