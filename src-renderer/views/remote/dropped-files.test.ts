import { describe, expect, it } from 'vitest';
import { collectDropped } from './dropped-files';

// The browser's FileSystemEntry API as a drop presents it: a folder's reader
// answers in batches, then an empty batch.

function fileEntry(name: string, body = name): FileSystemEntry {
  return { isFile: true, isDirectory: false, name, file: (ok: (f: File) => void) => ok(new File([body], name)) } as unknown as FileSystemEntry;
}

function folderEntry(name: string, children: FileSystemEntry[], batch = 2): FileSystemEntry {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      let at = 0;
      return {
        readEntries: (ok: (e: FileSystemEntry[]) => void) => {
          const part = children.slice(at, at + batch);
          at += part.length;
          setTimeout(() => ok(part), 0);
        },
      };
    },
  } as unknown as FileSystemEntry;
}

const drop = (...entries: FileSystemEntry[]) => ({ items: entries.map((e) => ({ webkitGetAsEntry: () => e })), files: [] });

describe('collectDropped', () => {
  it('queues every file of a dropped folder, at any depth and across reader batches, with its relative path', async () => {
    const tree = folderEntry('photos', [fileEntry('a.jpg'), folderEntry('2024', [fileEntry('b.jpg'), fileEntry('c.jpg'), fileEntry('d.jpg')]), folderEntry('empty', []), fileEntry('e.txt')]);
    const { files } = await collectDropped(drop(tree, fileEntry('loose.md', 'hello')));
    expect(files.map((f) => f.relative)).toEqual(['photos/a.jpg', 'photos/2024/b.jpg', 'photos/2024/c.jpg', 'photos/2024/d.jpg', 'photos/e.txt', 'loose.md']);
    expect(await files[5].file.text()).toBe('hello');
  });

  it('lists the folders that hold nothing (a folder of empty folders is made with them)', async () => {
    const tree = folderEntry('site', [folderEntry('logs', []), folderEntry('cache', [folderEntry('a', []), folderEntry('b', [fileEntry('x')])]), fileEntry('index.html')]);
    const { files, emptyFolders } = await collectDropped(drop(tree, folderEntry('blank', [])));
    expect(emptyFolders).toEqual(['site/logs', 'site/cache/a', 'blank']);
    expect(files.map((f) => f.relative)).toEqual(['site/cache/b/x', 'site/index.html']);
  });

  it('falls back to the plain file list when the browser gives no entries', async () => {
    const file = new File(['x'], 'plain.bin');
    expect(await collectDropped({ items: [], files: [file] })).toEqual({ files: [{ file, relative: 'plain.bin' }], emptyFolders: [] });
  });
});
