import type { DeploymentHistoryEntry } from '../../src-main/common/console-api';

// Who did what to a deployment, and when (the hub's deployment events,
// oldest first): created, continued, paused, halted, resumed, aborted...

export function DeploymentHistory({ entries }: { entries: DeploymentHistoryEntry[] }) {
  if (entries.length === 0) return null;
  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">History</h3>
      <ol className="history" data-testid="history">
        {entries.map((e, i) => (
          <li key={i} data-action={e.action}>
            <time dateTime={new Date(e.atMs).toISOString()}>{new Date(e.atMs).toLocaleString()}</time> · <strong>{e.action}</strong> by {e.actor}
            {Object.keys(e.details).length > 0 && (
              <span className="muted">
                {' '}
                ({Object.entries(e.details)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ')})
              </span>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
