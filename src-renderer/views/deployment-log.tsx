import { useCallback, useState } from 'react';
import { fleet } from '../api';
import { usePoll } from '../use-poll';

// The log lines one device sent for one deployment, re-read every 2 s while
// the device is still working on it.

type Load = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; lines: string[] };

export function DeploymentLog({ deploymentId, deviceId, live, id }: { deploymentId: string; deviceId: string; live: boolean; id: string }) {
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const read = useCallback(
    () =>
      fleet.deployments.deviceLog(deploymentId, deviceId).then(
        (lines) => setLoad({ state: 'ready', lines }),
        (err: Error) => setLoad({ state: 'error', message: `Could not read the log: ${err.message}` }),
      ),
    [deploymentId, deviceId],
  );
  // Reads once even when not live (the effect runs while active), then keeps going only while live.
  const [readOnce, setReadOnce] = useState(false);
  usePoll(
    async () => {
      await read();
      setReadOnce(true);
    },
    2000,
    live || !readOnce,
  );

  return (
    <div id={id} className="deployment-log" role="region" aria-label={`Log of ${deviceId}`}>
      {load.state === 'loading' && <p className="muted">Loading the log…</p>}
      {load.state === 'error' && (
        <p role="alert" className="notice error">
          {load.message}
        </p>
      )}
      {load.state === 'ready' &&
        (load.lines.length === 0 ? (
          <p className="muted">The device has sent no log lines for this deployment{live ? ' yet' : ''}.</p>
        ) : (
          <pre className="log-lines" data-testid="log-lines">
            {load.lines.join('\n')}
          </pre>
        ))}
    </div>
  );
}
