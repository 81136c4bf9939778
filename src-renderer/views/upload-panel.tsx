import { useRef, useState, type DragEvent } from 'react';
import type { SignatureStatus } from '../../src-main/common/console-api';
import { formatSize, formatSpeed, percent } from '../format/bytes';
import { explainUploadError } from '../format/upload-error';
import { useUploads, type UploadEntry } from '../stores/upload-store';

// The drop zone (plus a "Choose file" button for keyboard users) and one
// progress block per upload: bytes, percent, speed, Cancel; then the hub's
// verdict — stored (with what its signature means for devices) or refused
// (with the check that failed).

const SIGNATURE_NOTE: Record<SignatureStatus, string> = {
  trusted: 'Signed by a key the hub trusts: ready to deploy.',
  'untrusted-key': 'Signed by a key this hub does not trust: devices will refuse to install it. Add the public key to the hub’s trusted-keys folder, or sign it with a trusted key.',
  unsigned: 'Not signed: devices will refuse to install it. Sign it with “fleet-artifact sign”.',
};

export function UploadPanel() {
  const { uploads, start } = useUploads();
  const input = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);

  const startAll = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) start(file);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    startAll(e.dataTransfer.files);
  };
  const onDragOver = (e: DragEvent) => {
    if (!e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };

  return (
    <section className="upload-panel" aria-label="Upload an artifact">
      <div
        className={`drop-zone${dragging ? ' dragging' : ''}`}
        data-testid="drop-zone"
        onDragOver={onDragOver}
        onDragEnter={onDragOver}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <span>Drop an artifact file here to upload it to the hub, or</span>
        <button type="button" onClick={() => input.current?.click()}>
          Choose file…
        </button>
        <input
          ref={input}
          type="file"
          className="sr-only"
          tabIndex={-1}
          aria-label="Artifact file"
          multiple
          onChange={(e) => {
            startAll(e.target.files);
            e.target.value = ''; // the same file can be chosen again
          }}
        />
      </div>
      {uploads.map((u) => (
        <UploadItem key={u.key} upload={u} />
      ))}
    </section>
  );
}

function UploadItem({ upload: u }: { upload: UploadEntry }) {
  const { cancel, dismiss } = useUploads();
  const pct = percent(u.sent, u.size);
  const seconds = Math.max(0.001, (u.sentAtMs - u.startedMs) / 1000);
  const speed = u.sent / seconds;
  const active = u.phase === 'uploading' || u.phase === 'verifying';
  const figures = `${formatSize(u.sent)} of ${formatSize(u.size)} · ${pct}%${u.sent > 0 ? ` · ${formatSpeed(speed)}` : ''}`;
  return (
    <div className={`upload-item phase-${u.phase}`} role="group" aria-label={`Upload of ${u.fileName}`} data-testid="upload-item">
      <div className="upload-head">
        <strong className="upload-name">{u.fileName}</strong>
        <span className="muted" data-testid="upload-figures">
          {figures}
        </span>
        <span className="spacer" />
        {active ? (
          <button type="button" className="danger" onClick={() => cancel(u.key)} disabled={u.phase === 'verifying'}>
            Cancel
          </button>
        ) : (
          <button type="button" onClick={() => dismiss(u.key)} aria-label={`Dismiss ${u.fileName}`}>
            Dismiss
          </button>
        )}
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label={`Upload of ${u.fileName}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${pct}% (${formatSize(u.sent)} of ${formatSize(u.size)})`}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <UploadOutcome upload={u} />
    </div>
  );
}

function UploadOutcome({ upload: u }: { upload: UploadEntry }) {
  switch (u.phase) {
    case 'uploading':
      return null;
    case 'verifying':
      return (
        <p role="status" className="muted">
          All bytes sent; the hub is verifying the artifact…
        </p>
      );
    case 'cancelled':
      return (
        <p role="status" className="muted">
          Upload cancelled; the hub kept nothing.
        </p>
      );
    case 'failed': {
      const hint = explainUploadError(u.error);
      return (
        <div role="alert" className="notice error">
          <strong>Upload refused.</strong> {u.error}
          {hint && <div className="hint">{hint}</div>}
        </div>
      );
    }
    case 'done': {
      const a = u.result!.artifact;
      const kind = a.signatureStatus === 'trusted' ? 'ok' : 'warn';
      return (
        <div role="status" className={`notice ${kind}`}>
          <strong>
            {u.result!.deduplicated ? 'Already on the hub' : 'Uploaded'}: {a.name} {a.version}
          </strong>{' '}
          for {a.deviceTypes.join(', ')}. <span className={`badge signature-${a.signatureStatus}`}>{a.signatureStatus.replace('-', ' ')}</span>{' '}
          {SIGNATURE_NOTE[a.signatureStatus]}
        </div>
      );
    }
  }
}
