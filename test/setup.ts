// Runs in every test worker. Many tests block the worker's event loop while a
// sandbox runs (spawnSync); back to back, a minute of them would hold vitest's
// own messages to the worker past its RPC timeout ("Timeout calling
// onTaskUpdate") and fail the run though every test passed. A turn of the
// event loop before each test lets those messages through.
import { beforeEach } from 'vitest';

beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
