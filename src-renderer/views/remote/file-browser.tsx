import { useCallback, useEffect, useRef, useState } from 'react';
import type { RemoteEntry, RemoteTarget } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { formatSize } from '../../format/bytes';
import { collectDropped } from './dropped-files';
import { NewFolder } from './new-folder';
import { explainRemoteError } from './remote-error';
import { onAnyRemoteEvent } from './remote-events';
import { TransferQueue } from './transfer-queue';
import { useTransfers } from './transfer-store';

const ROW = 32;
const OVERSCAN = 8;

type Load = { state: 'idle' } | { state: 'loading' } | { state: 'ready' } | { state: 'error'; code: string; title: string; detail: string };

// The device's permitted folders: a virtualized listing (only the rows in
// view are in the DOM, pages fetched as the list is scrolled), files dropped
// from the desktop (or chosen) are uploaded into the folder shown, a click
// on a file downloads it into the chosen folder of this computer, and a file
// dragged out onto the desktop lands there (a DownloadURL drag: the console
// serves the verified download, see drag-out-links.ts); "New folder" makes
// an empty one in the folder shown, as a drop does for the empty folders it
// holds.
export function FileBrowser({ target }: { target: RemoteTarget }) {
  const [roots, setRoots] = useState<string[]>([]);
  const [path, setPath] = useState('');
  const [typed, setTyped] = useState('');
  const [entries, setEntries] = useState<RemoteEntry[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [load, setLoad] = useState<Load>({ state: 'idle' });
  const [saveDir, setSaveDir] = useState('');
  const [dragging, setDragging] = useState(false);
  const [dragBase, setDragBase] = useState('');
  const { upload, download, trackDragOut } = useTransfers.getState();
  const loading = useRef(false);

  // The latest request wins: a slow answer for a folder the operator already left is dropped.
  const request = useRef(0);
  const fetchPage = useCallback(
    async (dir: string, after: string | undefined, append: boolean) => {
      if (append && loading.current) return;
      const mine = ++request.current;
      loading.current = true;
      if (!append) setLoad({ state: 'loading' });
      try {
        const page = await fleet.remote.list(target, dir, after);
        if (mine !== request.current) return;
        setEntries((prev) => (append ? [...prev, ...page.entries] : page.entries));
        setCursor(page.nextCursor);
        setPath(page.path);
        setTyped(page.path);
        setLoad({ state: 'ready' });
      } catch (err) {
        if (mine !== request.current) return;
        const e = explainRemoteError(err);
        if (!append) setEntries([]);
        setLoad({ state: 'error', ...e });
      } finally {
        if (mine === request.current) loading.current = false;
      }
    },
    [target],
  );

  const open = (dir: string) => void fetchPage(dir, undefined, false);

  // Files dragged out: the console announces each download it starts for one; the queue shows it.
  const sizes = useRef(new Map<string, number>());
  useEffect(() => {
    sizes.current = new Map(entries.map((e) => [e.path, e.size]));
  }, [entries]);
  useEffect(() => {
    void fleet.remote.dragOutBase().then(setDragBase, () => undefined);
    return onAnyRemoteEvent((e) => {
      if (e.type === 'remote-transfer-start' && e.origin === 'drag-out' && e.deviceId === target.deviceId) trackDragOut(e.transferId, e.deviceId, e.remotePath, sizes.current.get(e.remotePath) ?? 0);
    });
  }, [target.deviceId, trackDragOut]);
  const dragLink = (entry: RemoteEntry): string | undefined =>
    dragBase && entry.type === 'file' ? `${dragBase}?via=${target.via}&device=${encodeURIComponent(target.deviceId)}&path=${encodeURIComponent(entry.path)}` : undefined;

  // A finished upload shows up in the folder it went to.
  const shown = useRef('');
  useEffect(() => {
    shown.current = path;
  }, [path]);
  useEffect(
    () =>
      useTransfers.subscribe((s, prev) => {
        if (s.uploaded !== prev.uploaded && shown.current) void fetchPage(shown.current, undefined, false);
      }),
    [fetchPage],
  );

  useEffect(() => {
    void fleet.remote.downloadsDir().then(setSaveDir, () => undefined);
    let known = false;
    const readRoots = () =>
      fleet.remote.roots(target).then(
        (r) => {
          if (r.length === 0) return;
          known = true;
          setRoots(r);
          // Only when the operator has not opened a folder meanwhile.
          if (request.current === 0) open(r[0]);
        },
        () => undefined,
      );
    void readRoots();
    // The folders come with the device's inventory, which may arrive later.
    return fleet.onEvent((e) => {
      if (!known && e.type === 'devices-changed' && (e.ids.length === 0 || e.ids.includes(target.deviceId))) void readRoots();
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target.deviceId, target.via]);

  const join = (name: string) => `${path.replace(/\/+$/, '')}/${name}`;
  const uploadFiles = (files: FileList | File[]) => {
    for (const f of Array.from(files)) upload(target, f, join(f.name));
  };
  const parent = path.replace(/\/[^/]+\/?$/, '') || '/';

  return (
    <section className="file-browser" aria-label="Files">
      <form
        className="path-bar"
        onSubmit={(e) => {
          e.preventDefault();
          open(typed.trim());
        }}
      >
        {roots.length > 0 && (
          <select aria-label="Allowed folder" value={roots.includes(path) ? path : ''} onChange={(e) => e.target.value && open(e.target.value)}>
            <option value="">Allowed folders…</option>
            {roots.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        )}
        <input aria-label="Device folder" className="mono" value={typed} placeholder="/data" onChange={(e) => setTyped(e.target.value)} />
        <button type="submit">Open</button>
        <button type="button" disabled={!path || path === '/'} onClick={() => open(parent)}>
          Up
        </button>
        <label className="file-pick">
          Upload files…
          <input
            type="file"
            multiple
            aria-label="Files to upload"
            disabled={!path}
            onChange={(e) => {
              if (e.target.files) uploadFiles(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
      </form>
      {/* Its own form when open: forms cannot nest, so it sits under the path bar. */}
      <NewFolder key={path} target={target} folder={path} onMade={() => open(path)} />
      <label className="save-dir">
        Save downloads to <input aria-label="Download folder" className="mono" value={saveDir} onChange={(e) => setSaveDir(e.target.value)} />
      </label>
      {load.state === 'error' && (
        <div role="alert" className="notice error" data-code={load.code}>
          <strong>{load.title}</strong> {load.detail}
        </div>
      )}
      {roots.length === 0 && !path && load.state !== 'error' && <p className="muted">Type a folder the device allows (its remote.files.roots) and press Open.</p>}
      <div
        className={`drop-target${dragging ? ' dragging' : ''}`}
        data-testid="file-drop-zone"
        onDragEnter={(e) => {
          if (isDragOut(e.dataTransfer)) return;
          e.preventDefault();
          setDragging(true);
        }}
        onDragOver={(e) => {
          if (!isDragOut(e.dataTransfer)) e.preventDefault();
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          if (!path || isDragOut(e.dataTransfer)) return;
          const into = path;
          void collectDropped(e.dataTransfer).then(({ files, emptyFolders }) => {
            for (const { file, relative } of files) upload(target, file, join(relative));
            // Folders with nothing to upload are made here (mkdir -p on the device), then the listing shows them.
            if (emptyFolders.length === 0) return;
            void Promise.all(emptyFolders.map((folder) => fleet.remote.mkdir(target, join(folder)))).then(
              () => open(into),
              (err: unknown) => setLoad({ state: 'error', ...explainRemoteError(err) }),
            );
          });
        }}
      >
        <EntryList
          entries={entries}
          loading={load.state === 'loading'}
          onOpen={(entry) => (entry.type === 'dir' ? open(entry.path) : saveDir && download(target, entry.path, `${saveDir.replace(/\/+$/, '')}/${entry.name}`, entry.size))}
          onEnd={() => cursor && void fetchPage(path, cursor, true)}
          dragLink={dragLink}
        />
        <p className="drop-hint muted">{path ? `Drop files here to upload them to ${path}` : 'Open a folder to upload into it'}</p>
      </div>
      <TransferQueue deviceId={target.deviceId} />
    </section>
  );
}

/** Our own rows being dragged: not files to upload. */
const DRAG_OUT_TYPE = 'application/x-fleet-drag-out';
const isDragOut = (dt: DataTransfer): boolean => dt.types.includes(DRAG_OUT_TYPE);

/**
 * Chromium's drag-to-desktop: "MIME:NAME:URL"; the name ends at the second
 * colon, so a colon in it becomes "_".
 */
function startDragOut(e: React.DragEvent, entry: RemoteEntry, link: string): void {
  e.dataTransfer.effectAllowed = 'copy';
  e.dataTransfer.setData('DownloadURL', `application/octet-stream:${entry.name.replace(/:/g, '_')}:${link}`);
  e.dataTransfer.setData(DRAG_OUT_TYPE, entry.path);
}

function EntryList({
  entries,
  loading,
  onOpen,
  onEnd,
  dragLink,
}: {
  entries: RemoteEntry[];
  loading: boolean;
  onOpen: (e: RemoteEntry) => void;
  onEnd: () => void;
  dragLink: (e: RemoteEntry) => string | undefined;
}) {
  const [scroll, setScroll] = useState(0);
  const height = 320;
  const first = Math.max(0, Math.floor(scroll / ROW) - OVERSCAN);
  const last = Math.min(entries.length, Math.ceil((scroll + height) / ROW) + OVERSCAN);
  useEffect(() => {
    if (last >= entries.length - OVERSCAN && entries.length > 0) onEnd();
  }, [last, entries.length, onEnd]);
  return (
    <div className="entry-list" role="grid" aria-label="Device files" aria-rowcount={entries.length} aria-busy={loading} style={{ height }} onScroll={(e) => setScroll(e.currentTarget.scrollTop)}>
      <div style={{ height: entries.length * ROW, position: 'relative' }}>
        {entries.slice(first, last).map((entry, i) => {
          const link = dragLink(entry);
          return (
            <div
              key={entry.path}
              draggable={link !== undefined}
              onDragStart={link === undefined ? undefined : (e) => startDragOut(e, entry, link)}
              role="row"
              aria-rowindex={first + i + 1}
              className="entry-row"
              data-testid="file-row"
              data-name={entry.name}
              style={{ top: (first + i) * ROW, height: ROW }}
            >
              <span role="gridcell" className="entry-name">
                <button type="button" className="link" onClick={() => onOpen(entry)} title={entry.type === 'dir' ? 'Open folder' : 'Download to the chosen folder (or drag it to the desktop)'}>
                  {entry.type === 'dir' ? '📁 ' : ''}
                  {entry.name}
                </button>
              </span>
              <span role="gridcell" className="entry-size">
                {entry.type === 'file' ? formatSize(entry.size) : entry.type}
              </span>
              <span role="gridcell" className="entry-mode mono">
                {(entry.mode & 0o777).toString(8).padStart(3, '0')}
              </span>
              <span role="gridcell" className="entry-time muted">
                {entry.mtimeMs ? new Date(entry.mtimeMs).toLocaleString() : ''}
              </span>
            </div>
          );
        })}
      </div>
      {!loading && entries.length === 0 && <p className="empty">Empty folder.</p>}
    </div>
  );
}
