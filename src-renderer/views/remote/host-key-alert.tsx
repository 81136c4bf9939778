import { useEffect, useState } from 'react';
import type { HostKeyProblem } from '../../../src-main/common/console-api';
import { fleet } from '../../api';
import { errorText } from './remote-error';

// Direct mode refuses a device whose SSH host key changed since it was first
// trusted (possibly someone in the middle). This shows both fingerprints and
// trusts the new one only when the operator says so, and only that exact key.
export function HostKeyAlert({ deviceId }: { deviceId: string }) {
  const [problem, setProblem] = useState<HostKeyProblem | null>(null);
  const [error, setError] = useState('');

  useEffect(() => {
    void fleet.remote.hostKeyProblem(deviceId).then(setProblem, () => undefined);
    return fleet.onEvent((e) => {
      if (e.type === 'remote-host-key-changed' && e.problem.deviceId === deviceId) setProblem(e.problem);
    });
  }, [deviceId]);

  if (!problem) return null;
  return (
    <div role="alert" className="notice error host-key-alert" aria-label="Host key changed">
      <strong>The SSH host key of this device changed.</strong> Connections are refused until you decide. If the device was reinstalled or its key
      replaced on purpose, trust the new key; otherwise someone may be intercepting the connection.
      <dl>
        <dt>Trusted</dt>
        <dd className="mono" data-testid="known-key">
          {problem.known.algorithm} {problem.known.fingerprint}
        </dd>
        <dt>Presented now</dt>
        <dd className="mono" data-testid="presented-key">
          {problem.presented.algorithm} {problem.presented.fingerprint}
        </dd>
      </dl>
      <button
        type="button"
        className="danger"
        onClick={() =>
          fleet.remote.trustHostKey(deviceId, problem.presented.fingerprint).then(
            () => setProblem(null),
            (err) => setError(errorText(err)),
          )
        }
      >
        Trust the new key
      </button>
      {error && <p>{error}</p>}
    </div>
  );
}
