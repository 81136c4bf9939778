// What a device runs, from the provides its agent reports as inventory:
// artifact.<group>.name and artifact.<group>.version, one pair per group.

export interface InstalledArtifact {
  group: string;
  name: string;
  version: string;
}

export function installedSoftware(inventory: Record<string, string>): InstalledArtifact[] {
  const out: InstalledArtifact[] = [];
  for (const [key, version] of Object.entries(inventory)) {
    const m = /^artifact\.(.+)\.version$/.exec(key);
    if (m) out.push({ group: m[1], name: inventory[`artifact.${m[1]}.name`] ?? m[1], version });
  }
  return out.sort((a, b) => a.group.localeCompare(b.group));
}
