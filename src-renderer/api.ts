import { createApiClient } from '../src-main/common/api-client';
import type { ApiTransport, FleetWindowApi } from '../src-main/common/console-api';
import { readBridgeSecret } from './bridge-secret';
import { createBridgeTransport } from './bridge-transport';
import { useLink } from './stores/link-store';

// The one way the UI reaches the world. Under Electron the preload has put
// `window.fleet` there; in a browser the same API is built over the bridge.

/** Used when the page was opened without the bridge's secret: every call fails, clearly. */
const noSecretTransport: ApiTransport = {
  invoke: () => Promise.reject(new Error('this page was opened without its access secret: open the URL the console printed')),
  onEvent: () => () => {},
};

function connectApi(): FleetWindowApi {
  const setLink = useLink.getState().set;
  if (window.fleet) {
    setLink('open');
    return window.fleet;
  }
  const secret = readBridgeSecret();
  if (!secret) {
    setLink('no-secret');
    return createApiClient(noSecretTransport);
  }
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`;
  return createApiClient(createBridgeTransport({ url, secret, onLink: (s) => setLink(s.state) }));
}

export const fleet: FleetWindowApi = connectApi();
