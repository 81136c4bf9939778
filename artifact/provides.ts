// What a device provides after installing an artifact: clears_provides
// patterns remove keys, then the artifact's provides and its group's name
// and version (artifact.<group>.name / .version) are set.
import { groupNameKey, groupVersionKey, type Manifest } from './manifest';

function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function applyProvides(device: Record<string, string>, manifest: Manifest): Record<string, string> {
  const clears = manifest.clearsProvides.map(patternToRegExp);
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(device)) if (!clears.some((re) => re.test(k))) next[k] = v;
  Object.assign(next, manifest.provides);
  next[groupNameKey(manifest.group)] = manifest.name;
  next[groupVersionKey(manifest.group)] = manifest.version;
  return next;
}
