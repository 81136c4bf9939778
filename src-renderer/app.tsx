import { useEffect } from 'react';
import { fleet } from './api';
import { useRoute, type Route } from './route';
import { useConnection } from './stores/connection-store';
import { useLink } from './stores/link-store';
import { ArtifactsView } from './views/artifacts-view';
import { DeploymentPage } from './views/deployment-page';
import { DeploymentsView } from './views/deployments-view';
import { ConnectionPanel } from './views/connection-panel';
import { ConnectionStatus, OfflineBanner } from './views/connection-status';
import { DeviceList } from './views/device-list';
import { DevicePage } from './views/device-page';

export function App() {
  const route = useRoute();
  const link = useLink((s) => s.state);
  const wasOpen = useLink((s) => s.wasOpen);
  const refresh = useConnection((s) => s.refresh);

  useEffect(() => {
    if (link === 'open') void refresh();
  }, [link, refresh]);
  // A file dropped outside the upload zone must not replace the console with the file.
  useEffect(() => {
    const stop = (e: DragEvent) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    };
    window.addEventListener('dragover', stop);
    window.addEventListener('drop', stop);
    return () => {
      window.removeEventListener('dragover', stop);
      window.removeEventListener('drop', stop);
    };
  }, []);
  useEffect(
    () =>
      fleet.onEvent((e) => {
        if (e.type === 'connection') useConnection.getState().set(e.state);
      }),
    [],
  );

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Fleet Console</span>
        <nav aria-label="Main">
          <a href="#/devices" aria-current={route.view === 'devices' || route.view === 'device' ? 'page' : undefined}>
            Devices
          </a>
          <a href="#/artifacts" aria-current={route.view === 'artifacts' ? 'page' : undefined}>
            Artifacts
          </a>
          <a href="#/deployments" aria-current={route.view === 'deployments' || route.view === 'deployment' ? 'page' : undefined}>
            Deployments
          </a>
          <a href="#/connection" aria-current={route.view === 'connection' ? 'page' : undefined}>
            Connection
          </a>
        </nav>
        <ConnectionStatus />
      </header>
      {link === 'open' || wasOpen ? (
        <>
          {link !== 'open' && (
            <div role="status" className="banner reconnecting">
              Reconnecting to the console service…
            </div>
          )}
          <OfflineBanner />
          <main>
            <RouteView route={route} />
          </main>
        </>
      ) : (
        <main>
          <LinkProblem />
        </main>
      )}
    </div>
  );
}

function RouteView({ route }: { route: Route }) {
  switch (route.view) {
    case 'device':
      return <DevicePage key={route.id} id={route.id} />;
    case 'artifacts':
      return <ArtifactsView />;
    case 'deployments':
      return <DeploymentsView />;
    case 'deployment':
      return <DeploymentPage key={route.id} id={route.id} />;
    case 'connection':
      return <ConnectionPanel />;
    case 'devices':
      return <DeviceList />;
  }
}

function LinkProblem() {
  const link = useLink((s) => s.state);
  if (link === 'connecting') return <p className="muted">Connecting to the console service…</p>;
  const text =
    link === 'no-secret'
      ? 'This page was opened without its access secret. Open the full URL that the console printed when it started (it ends with #secret=…).'
      : 'Cannot reach the console service: the link is wrong or out of date, or the service has stopped. Open the URL that the console printed when it started.';
  return (
    <div role="alert" className="notice error link-problem">
      {text}
    </div>
  );
}
