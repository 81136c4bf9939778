// The agent ships inside the project's package: its version is the package's.
// A static JSON import, so the esbuild bundle (npm run build:agent) carries
// the version instead of looking for a package.json beside itself.
import pkg from '../package.json' with { type: 'json' };

export const AGENT_VERSION: string = pkg.version;
