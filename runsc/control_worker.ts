// The control socket's watcher thread (see runsc/control.ts): polls the
// listening socket and the connections the main thread keeps open; when one
// is ready it tells the main thread (a message, and the Kernel's doorbell
// once the Kernel runs) and waits for the main thread to serve it before
// polling again.
import { parentPort, workerData } from 'node:worker_threads';
import * as unix from '../src/ffi/unix';
import { SHARED, UP } from './control';

const POLLIN = 1;
const { listenFd, shared } = workerData as { listenFd: number; shared: Int32Array };

function watch(): void {
  const n = Atomics.load(shared, SHARED.count);
  const pfds = new Uint8Array(8 * (n + 1));
  const dv = new DataView(pfds.buffer);
  for (let i = 0; i <= n; i++) {
    dv.setInt32(8 * i, i === 0 ? listenFd : shared[SHARED.fds + i - 1]!, true);
    dv.setInt16(8 * i + 4, POLLIN, true);
  }
  if (unix.poll(pfds, n + 1, -1) <= 0) return;
  Atomics.store(shared, SHARED.ack, 0);
  parentPort!.postMessage(0);
  const tid = Atomics.load(shared, SHARED.doorbellTid);
  if (tid > 0) {
    Atomics.store(shared, SHARED.wake, 1);
    Atomics.notify(shared, SHARED.wake);
    unix.tgkill(tid, tid, Atomics.load(shared, SHARED.doorbellSignal));
  }
  Atomics.wait(shared, SHARED.ack, 0);
}
// Everything is loaded: the sandbox may confine itself (no more files to open).
parentPort!.postMessage(UP);
for (;;) watch();
