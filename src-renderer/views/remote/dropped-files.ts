// What a drop on the file browser uploads: every file, folders walked to
// any depth, each with its path relative to the drop (`photos/2024/a.jpg`).
// The device creates the folders an upload's path needs inside its allowed
// roots, so a dropped folder arrives as a folder. Empty folders carry no
// file and are not created.

export interface DroppedFile {
  file: File;
  /** Path below the folder shown, '/'-separated. */
  relative: string;
}

/** The parts of a DataTransfer a drop is read from. */
export interface DropSource {
  items: ArrayLike<{ webkitGetAsEntry?(): FileSystemEntry | null }>;
  files: ArrayLike<File>;
}

export async function collectDropped(transfer: DropSource): Promise<DroppedFile[]> {
  const entries = Array.from(transfer.items)
    .map((item) => item.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return Array.from(transfer.files).map((file) => ({ file, relative: file.name }));
  const out: DroppedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, relative: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries answers in batches (Chromium: 100 at a time) until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
