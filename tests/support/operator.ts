import type { ConsoleServiceClient, DeviceFilter } from '../../proto/gen/fleet/v1/console';
import { AdmissionStatus, type Device } from '../../proto/gen/fleet/v1/common';
import { createConsoleClient, unary } from '../../src-main/services/hub-client/hub-connection';

// An operator's view of a hub for tests and benchmarks, through the same
// client code the console and fleetctl use.

export class Operator {
  readonly client: ConsoleServiceClient;
  constructor(
    hub: string,
    readonly token: string,
    caPem: string,
  ) {
    this.client = createConsoleClient({ hub, token, caPem });
  }

  async allDevices(filter: Partial<DeviceFilter> = {}): Promise<Device[]> {
    const devices: Device[] = [];
    let pageToken = '';
    do {
      const page = await unary(this.client, this.client.listDevices, { filter: { status: 0, attributes: {}, text: '', ...filter }, pageSize: 1000, pageToken }, this.token);
      devices.push(...page.devices);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return devices;
  }

  acceptAllPending(): Promise<string[]> {
    return unary(
      this.client,
      this.client.setAdmission,
      { status: AdmissionStatus.ADMISSION_STATUS_ACCEPTED, ids: [], filter: { status: AdmissionStatus.ADMISSION_STATUS_PENDING, attributes: {}, text: '' } },
      this.token,
    ).then((r) => r.changed);
  }

  close(): void {
    this.client.close();
  }
}
