// A freshly booted simulated ESP8266 with the runtime, for tests that run a few statements on it.
import { SimDevice, TOOLKIT_ROOT, projectFiles } from '../../generator/sim/device.ts';

/** Runs fn on a freshly booted device with the runtime and the generated modules, and closes the device after. */
export async function onDevice(fn: (dev: SimDevice) => Promise<void>): Promise<void> {
  const dev = await SimDevice.boot({ files: projectFiles(TOOLKIT_ROOT), stdout: () => {} });
  try {
    await fn(dev);
  } finally {
    await dev.close();
  }
}
