// Networking inside one sandbox (issue 5, items 7 and 8): Debian's python3
// serves files with `python3 -m http.server` on the Sentry's loopback and
// another process of the same sandbox fetches them with urllib, over IPv4,
// IPv6 and a dual-stack listener; iproute2 sees lo as it does natively; and
// nothing leaves lo. Each script runs natively too, where it must print the
// same (the host's loopback stands in for the Sentry's).
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { assertExit, assertSameAsNative, describeRun, killAll, runNative, runSandboxed } from './harness';

// Always Debian's interpreter, never a pyenv shim found on PATH.
const PYTHON = '/usr/bin/python3';
const IP = '/usr/sbin/ip';

afterAll(killAll);

/** Serves a temporary directory with http.server on (bind, port), fetches from url, prints what came back. */
function httpScript(bind: string, host: string): string {
  return [
    'import os, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request',
    'd = tempfile.mkdtemp(prefix="runsc-http-", dir="/tmp")',
    'open(os.path.join(d, "hello.txt"), "w").write("hello from the sandbox\\n" * 1000)',
    // A free port, found the way the kernel hands out ephemeral ones.
    `fam = socket.AF_INET6 if ":" in ${JSON.stringify(bind)} else socket.AF_INET`,
    `probe = socket.socket(fam); probe.bind((${JSON.stringify(bind)}, 0)); port = probe.getsockname()[1]; probe.close()`,
    `srv = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", ${JSON.stringify(bind)}, "--directory", d, str(port)],`,
    '                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)',
    `url = "http://${host}:%d/" % port`,
    'for attempt in range(400):',
    '    try:',
    '        body = urllib.request.urlopen(url + "hello.txt", timeout=20).read()',
    '        break',
    '    except urllib.error.URLError as e:',
    '        if srv.poll() is not None: sys.exit("server died")',
    '        time.sleep(0.05)',
    'else:',
    '    sys.exit("server never answered")',
    'print(len(body), body.splitlines()[0].decode())',
    'listing = urllib.request.urlopen(url, timeout=20).read().decode()',
    'print("hello.txt" in listing)',
    'try:',
    '    urllib.request.urlopen(url + "missing", timeout=20)',
    'except urllib.error.HTTPError as e:',
    '    print("missing:", e.code)',
    'srv.terminate()',
    'print("server exit", srv.wait())',
  ].join('\n');
}

describe('python http.server and urllib in one sandbox', () => {
  const cases: [string, string, string][] = [
    ['IPv4 on 127.0.0.1', '127.0.0.1', '127.0.0.1'],
    ['IPv6 on ::1', '::1', '[::1]'],
    ['dual-stack listener reached over IPv4', '::', '127.0.0.1'],
  ];
  it.each(cases)('%s', async (_name, bind, host) => {
    const script = httpScript(bind, host);
    const native = await runNative(PYTHON, ['-c', script], { cwd: '/', timeoutMs: 60_000 });
    assertExit('native', native);
    expect(native.stdout).toBe('23000 hello from the sandbox\nTrue\nmissing: 404\nserver exit -15\n');
    const sandboxed = await runSandboxed(PYTHON, ['-c', script], { cwd: '/', timeoutMs: 120_000 });
    assertSameAsNative(`http.server ${bind}`, native, sandboxed);
  }, 200_000);
});

describe('the network is lo only', () => {
  it('connecting or sending off lo is ENETUNREACH', async () => {
    const script = [
      'import errno, socket',
      'for fam, addr in [(socket.AF_INET, ("192.0.2.1", 80)), (socket.AF_INET6, ("2001:db8::1", 80))]:',
      '    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):',
      '        s = socket.socket(fam, kind)',
      '        try:',
      '            s.connect(addr) if kind == socket.SOCK_STREAM else s.sendto(b"x", addr)',
      '            print("reached")',
      '        except OSError as e:',
      '            print(errno.errorcode[e.errno])',
      'print(sorted(i[1] for i in socket.if_nameindex()))',
    ].join('\n');
    const r = await runSandboxed(PYTHON, ['-c', script], { cwd: '/', timeoutMs: 60_000 });
    assertExit('runsc', r);
    expect(r.stdout, describeRun('runsc', r)).toBe('ENETUNREACH\nENETUNREACH\nENETUNREACH\nENETUNREACH\n[\'lo\']\n');
  }, 90_000);

  it('ip addr show lo prints what it prints natively', async () => {
    expect(fs.existsSync(IP), `${IP} missing: install iproute2`).toBe(true);
    const native = await runNative(IP, ['addr', 'show', 'lo'], { cwd: '/', timeoutMs: 20_000 });
    assertExit('native', native);
    const sandboxed = await runSandboxed(IP, ['addr', 'show', 'lo'], { cwd: '/', timeoutMs: 60_000 });
    assertSameAsNative('ip addr show lo', native, sandboxed);
    const link = await runSandboxed(IP, ['-o', 'link'], { cwd: '/', timeoutMs: 60_000 });
    assertExit('runsc ip -o link', link);
    expect(link.stdout.trim().split('\n').map((l) => l.split(':')[1]!.trim())).toEqual(['lo']);
  }, 90_000);
});
