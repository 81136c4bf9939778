import { statusText, statusTone } from '../format/deployment-status';

/** A deployment or per-device status as a coloured badge ("rolled back", "success"...). */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge tone-${statusTone(status)}`} data-status={status}>
      {statusText(status)}
    </span>
  );
}
