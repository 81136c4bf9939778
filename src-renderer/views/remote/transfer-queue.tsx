import { formatSize, formatSpeed, percent } from '../../format/bytes';
import { formatEta } from './format-duration';
import { useTransfers, type TransferEntry } from './transfer-store';

// Uploads and downloads of one device, newest first: progress, speed, ETA,
// cancel while queued or running, and the reason when one failed.
export function TransferQueue({ deviceId }: { deviceId: string }) {
  // The whole list is selected (a stable reference) and filtered here: a selector returning a new array would re-render forever.
  const all = useTransfers((s) => s.transfers);
  const transfers = all.filter((t) => t.deviceId === deviceId);
  if (transfers.length === 0) return null;
  return (
    <ul className="transfer-queue" aria-label="Transfers">
      {transfers.map((t) => (
        <TransferItem key={t.key} t={t} />
      ))}
    </ul>
  );
}

function TransferItem({ t }: { t: TransferEntry }) {
  const { cancel, dismiss } = useTransfers.getState();
  const label = `${t.kind === 'upload' ? 'Upload' : 'Download'} of ${t.name}`;
  const pct = t.phase === 'done' ? 100 : percent(t.progress.bytes, t.progress.total);
  const active = t.phase === 'queued' || t.phase === 'running';
  return (
    <li role="group" aria-label={label} className={`transfer ${t.phase}`} data-phase={t.phase}>
      <div className="transfer-head">
        <span className="transfer-name">
          {t.kind === 'upload' ? '↑' : '↓'} {t.name}
        </span>
        <span className="muted mono">{t.kind === 'upload' ? t.remotePath : t.localPath}</span>
        {active ? (
          <button type="button" onClick={() => cancel(t.key)}>
            Cancel
          </button>
        ) : (
          <button type="button" aria-label={`Dismiss ${t.name}`} onClick={() => dismiss(t.key)}>
            ×
          </button>
        )}
      </div>
      <progress aria-label={label} max={100} value={pct} />
      <div className="transfer-figures muted" data-testid="transfer-figures">
        {formatSize(t.progress.bytes)} of {formatSize(t.progress.total)} · {pct}%{t.phase === 'running' ? ` · ${formatSpeed(t.progress.bytesPerSecond)} · ETA ${formatEta(t.progress.etaSeconds)}` : ''}
      </div>
      {t.phase === 'queued' && <div role="status">Queued</div>}
      {t.phase === 'done' && (
        <div role="status" className="ok-text">
          Done — sha256 {t.sha256} verified on both ends{t.draggedOut ? '; handed to the desktop where it was dropped' : t.kind === 'download' ? `; saved as ${t.localPath}` : ''}.
        </div>
      )}
      {t.phase === 'failed' && (
        <div role="alert" className="error-text" data-code={t.errorCode}>
          {t.error}
        </div>
      )}
      {t.phase === 'cancelled' && <div role="status">{t.error}</div>}
    </li>
  );
}
