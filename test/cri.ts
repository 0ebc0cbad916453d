// A minimal CRI client for the tests: the few runtime.v1 calls the kubelet
// makes to run a pod, spoken as gRPC over HTTP/2 on containerd's Unix socket,
// with a small protobuf encoder and decoder (proto3 wire format: varints and
// length-delimited fields only, which is all these messages use).
//
// A message to send is a list of [field number, value] pairs: a string or a
// Buffer is length-delimited, a number or boolean a varint, a nested list a
// sub-message. A decoded message maps each field number to its raw values
// (a bigint for a varint, a Buffer for a length-delimited field).
import * as http2 from 'node:http2';
import * as net from 'node:net';

export type Field = [number, string | number | boolean | Buffer | Message];
export type Message = Field[];
export type Decoded = Map<number, (bigint | Buffer)[]>;

function varint(v: bigint): Buffer {
  const out: number[] = [];
  // Negative int32/int64 values are sent as their 64-bit two's complement.
  let n = BigInt.asUintN(64, v);
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

export function encode(m: Message): Buffer {
  const parts: Buffer[] = [];
  for (const [field, v] of m) {
    if (typeof v === 'number' || typeof v === 'boolean') {
      parts.push(varint(BigInt(field << 3)), varint(BigInt(Number(v))));
      continue;
    }
    const body = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : encode(v);
    parts.push(varint(BigInt((field << 3) | 2)), varint(BigInt(body.length)), body);
  }
  return Buffer.concat(parts);
}

/** A map<string,string> field's entries. */
export const mapEntries = (field: number, o: Record<string, string>): Field[] =>
  Object.entries(o).map(([k, v]) => [field, [[1, k], [2, v]]]);

export function decode(buf: Buffer): Decoded {
  const out: Decoded = new Map();
  let i = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const key = Number(readVarint());
    const field = key >> 3;
    const list = out.get(field) ?? [];
    switch (key & 7) {
      case 0: list.push(readVarint()); break;
      case 1: list.push(buf.subarray(i, i + 8)); i += 8; break;
      case 2: { const n = Number(readVarint()); list.push(buf.subarray(i, i + n)); i += n; break; }
      case 5: list.push(buf.subarray(i, i + 4)); i += 4; break;
      default: throw new Error(`unsupported wire type ${key & 7}`);
    }
    out.set(field, list);
  }
  return out;
}

/** Field accessors for decoded messages. */
export const str = (m: Decoded, f: number): string => (m.get(f)?.[0] as Buffer | undefined)?.toString() ?? '';
export const num = (m: Decoded, f: number): number => Number(BigInt.asIntN(64, (m.get(f)?.[0] as bigint | undefined) ?? 0n));
export const sub = (m: Decoded, f: number): Decoded => decode((m.get(f)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
export function strMap(m: Decoded, f: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of m.get(f) ?? []) {
    const d = decode(e as Buffer);
    out[str(d, 1)] = str(d, 2);
  }
  return out;
}

export class GrpcError extends Error {
  constructor(readonly method: string, readonly code: number, readonly detail: string) {
    super(`${method}: grpc status ${code}: ${detail}`);
  }
}

/** A gRPC connection over a Unix socket. */
export class GrpcClient {
  private readonly session: http2.ClientHttp2Session;

  constructor(socketPath: string) {
    this.session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
    this.session.on('error', () => undefined);
  }

  /** One unary call: /SERVICE/METHOD with a request message; resolves to the decoded response. */
  call(method: string, request: Message, timeoutMs = 60_000): Promise<Decoded> {
    const body = encode(request);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    return new Promise((resolve, reject) => {
      const s = this.session.request({
        ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers',
      });
      s.setTimeout(timeoutMs, () => s.close(http2.constants.NGHTTP2_CANCEL));
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let detail = '';
      const grpcStatus = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) {
          status = String(h['grpc-status']);
          detail = decodeURIComponent(String(h['grpc-message'] ?? ''));
        }
      };
      s.on('response', grpcStatus);
      s.on('trailers', grpcStatus);
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', reject);
      s.on('close', () => {
        if (status === undefined) return reject(new GrpcError(method, -1, `stream closed without a status (rst ${s.rstCode})`));
        if (status !== '0') return reject(new GrpcError(method, Number(status), detail));
        const all = Buffer.concat(chunks);
        if (all.length < 5) return resolve(new Map());
        resolve(decode(all.subarray(5, 5 + all.readUInt32BE(1))));
      });
      s.end(frame);
    });
  }

  close(): void {
    this.session.close();
  }
}

const RUNTIME = '/runtime.v1.RuntimeService/';

/** CRI NamespaceMode. */
export const NS = { POD: 0, CONTAINER: 1, NODE: 2 } as const;
/** CRI ContainerState. */
export const CONTAINER_STATE = ['CREATED', 'RUNNING', 'EXITED', 'UNKNOWN'] as const;

export interface PodConfig {
  name: string;
  uid: string;
  namespace: string;
  logDirectory: string;
  /** The cgroup the pod's containers go under (the kubelet's per-pod cgroup). */
  cgroupParent: string;
}

/** A PodSandboxConfig with the pod's network namespace as given, its own pid namespace per container, a pod ipc namespace. */
export function podSandboxConfig(p: PodConfig, network: number = NS.NODE): Message {
  return [
    [1, [[1, p.name], [2, p.uid], [3, p.namespace], [4, 0]]],
    [3, p.logDirectory],
    [8, [[1, p.cgroupParent], [2, [[1, [[1, network], [2, NS.CONTAINER], [3, NS.POD]]]]]]],
  ];
}

export interface ContainerConfig {
  name: string;
  image: string;
  command: string[];
  logPath: string;
  env?: Record<string, string>;
}

export function containerConfig(c: ContainerConfig, network: number = NS.NODE): Message {
  return [
    [1, [[1, c.name], [2, 0]]],
    [2, [[1, c.image]]],
    ...c.command.map((a): Field => [3, a]),
    ...Object.entries(c.env ?? {}).map(([k, v]): Field => [6, [[1, k], [2, v]]]),
    [11, c.logPath],
    // LinuxContainerConfig.security_context.namespace_options
    [15, [[2, [[3, [[1, network], [2, NS.CONTAINER], [3, NS.POD]]]]]]],
  ];
}

export interface ContainerStatus {
  id: string;
  state: (typeof CONTAINER_STATE)[number];
  exitCode: number;
  reason: string;
  message: string;
  logPath: string;
  finishedAt: number;
}

/** The RuntimeService calls a kubelet makes to run a pod, one method each. */
export class CriRuntime {
  constructor(private readonly grpc: GrpcClient) {}

  async version(): Promise<{ runtimeName: string; runtimeVersion: string }> {
    const r = await this.grpc.call(`${RUNTIME}Version`, [[1, 'v1']], 5_000);
    return { runtimeName: str(r, 2), runtimeVersion: str(r, 3) };
  }

  async runPodSandbox(config: Message, handler: string): Promise<string> {
    return str(await this.grpc.call(`${RUNTIME}RunPodSandbox`, [[1, config], [2, handler]]), 1);
  }

  async podSandboxState(id: string): Promise<'READY' | 'NOTREADY'> {
    const r = sub(await this.grpc.call(`${RUNTIME}PodSandboxStatus`, [[1, id]]), 1);
    return num(r, 3) === 0 ? 'READY' : 'NOTREADY';
  }

  async createContainer(podId: string, config: Message, podConfig: Message): Promise<string> {
    return str(await this.grpc.call(`${RUNTIME}CreateContainer`, [[1, podId], [2, config], [3, podConfig]]), 1);
  }

  async startContainer(id: string): Promise<void> {
    await this.grpc.call(`${RUNTIME}StartContainer`, [[1, id]]);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const s = sub(await this.grpc.call(`${RUNTIME}ContainerStatus`, [[1, id]]), 1);
    return {
      id: str(s, 1), state: CONTAINER_STATE[num(s, 3)] ?? 'UNKNOWN', exitCode: num(s, 7), reason: str(s, 10),
      message: str(s, 11), logPath: str(s, 15), finishedAt: num(s, 6),
    };
  }

  /** ExecSync: a command run in the container to completion (kubectl exec without a stream, probes). */
  async execSync(id: string, cmd: string[], timeoutS = 30): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await this.grpc.call(`${RUNTIME}ExecSync`, [[1, id], ...cmd.map((a): Field => [2, a]), [3, timeoutS]]);
    return { stdout: str(r, 1), stderr: str(r, 2), exitCode: num(r, 3) };
  }

  async stopContainer(id: string, timeoutS: number): Promise<void> {
    await this.grpc.call(`${RUNTIME}StopContainer`, [[1, id], [2, timeoutS]]);
  }

  async removeContainer(id: string): Promise<void> {
    await this.grpc.call(`${RUNTIME}RemoveContainer`, [[1, id]]);
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.grpc.call(`${RUNTIME}StopPodSandbox`, [[1, id]]);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.grpc.call(`${RUNTIME}RemovePodSandbox`, [[1, id]]);
  }
}
