// What a drop on the file browser uploads: every file, folders walked to
// any depth, each with its path relative to the drop (`photos/2024/a.jpg`).
// The device creates the folders an upload's path needs inside its allowed
// roots, so a dropped folder arrives as a folder; folders with nothing in
// them carry no file, so they are listed apart for the browser to make.

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

export interface Dropped {
  files: DroppedFile[];
  /** Folders with no entries at all, relative like the files (their parents come with them). */
  emptyFolders: string[];
}

export async function collectDropped(transfer: DropSource): Promise<Dropped> {
  const entries = Array.from(transfer.items)
    .map((item) => item.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return { files: Array.from(transfer.files).map((file) => ({ file, relative: file.name })), emptyFolders: [] };
  const out: DroppedFile[] = [];
  const emptyFolders: string[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, relative: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      let children = 0;
      // readEntries answers in batches (Chromium: 100 at a time) until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        children += batch.length;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
      if (children === 0) emptyFolders.push(prefix + entry.name);
    }
  };
  for (const e of entries) await walk(e, '');
  return { files: out, emptyFolders };
}
