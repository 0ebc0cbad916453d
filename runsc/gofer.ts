// Starting a Gofer. As root, the Gofer confines itself in two stages (see
// gofer/confine.ts); the first must run in a single-threaded process, which a
// Node process never is. Instead of having Node re-execute itself (a second
// ~90 ms Node start-up), runsc runs stage 1 in a launcher: a tiny static ELF
// assembled here that makes a new mount namespace with private mounts, sets
// no_new_privs, shrinks the capability bounding set, and execs the Gofer's
// stage 2.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import * as libc from '../src/ffi/libc';
import { Code, tinyElf } from '../src/elf/tiny';
import type { Logger } from '../src/log';
import { KEEP_CAPS, SETUP_CAPS } from '../gofer/confine';

const AF_UNIX = 1;
const SOCK_STREAM_CLOEXEC = 1 | 0o2000000;
const MFD_CLOEXEC = 1;
const LAUNCHER_BASE = 0x400000;
const CODE_OFFSET = 0x80;

/** The launcher: stage 1 of the Gofer's confinement, then execve(argv[1], argv + 1, envp). Exits with the errno of a failed step. */
function launcherElf(keep: readonly number[]): Uint8Array {
  const keepMask = keep.reduce((m, c) => m | (1n << BigInt(c)), 0n);
  const c = new Code();
  const failIfNegative = () => c.emit(0x48, 0x85, 0xc0).emit(0x0f, 0x88).rel32('fail'); // test rax, rax; js fail
  c.emit(0x49, 0x89, 0xe7); // mov r15, rsp (argc, argv..., NULL, envp...)
  c.emit(0xbf).imm32(0x20000).emit(0xb8).imm32(272).emit(0x0f, 0x05); // unshare(CLONE_NEWNS)
  failIfNegative();
  c.emit(0x31, 0xff); // xor edi, edi
  c.emit(0x48, 0x8d, 0x35).rel32('slash'); // lea rsi, [rip + slash]
  c.emit(0x31, 0xd2); // xor edx, edx
  c.emit(0x41, 0xba).imm32(0x44000); // mov r10d, MS_REC | MS_PRIVATE
  c.emit(0x45, 0x31, 0xc0); // xor r8d, r8d
  c.emit(0xb8).imm32(165).emit(0x0f, 0x05); // mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)
  failIfNegative();
  c.emit(0xbf).imm32(38).emit(0xbe).imm32(1).emit(0x31, 0xd2, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xc0);
  c.emit(0xb8).imm32(157).emit(0x0f, 0x05); // prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
  failIfNegative();
  c.emit(0x45, 0x31, 0xe4); // xor r12d, r12d (capability number)
  c.emit(0x49, 0xbd).imm64(keepMask); // mov r13, keep mask
  c.label('cap');
  c.emit(0x4d, 0x0f, 0xa3, 0xe5); // bt r13, r12
  c.emit(0x0f, 0x82).rel32('next'); // jc next (kept)
  c.emit(0xbf).imm32(24).emit(0x4c, 0x89, 0xe6).emit(0x31, 0xd2, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xc0);
  c.emit(0xb8).imm32(157).emit(0x0f, 0x05); // prctl(PR_CAPBSET_DROP, r12, 0, 0, 0)
  c.emit(0x48, 0x83, 0xf8, 0xea); // cmp rax, -EINVAL: past the kernel's last capability
  c.emit(0x0f, 0x84).rel32('exec');
  failIfNegative();
  c.label('next');
  c.emit(0x49, 0xff, 0xc4); // inc r12
  c.emit(0x49, 0x83, 0xfc, 0x40); // cmp r12, 64
  c.emit(0x0f, 0x82).rel32('cap'); // jb cap
  c.label('exec');
  c.emit(0x49, 0x8b, 0x7f, 0x10); // mov rdi, [r15 + 16] (argv[1])
  c.emit(0x49, 0x8d, 0x77, 0x10); // lea rsi, [r15 + 16] (&argv[1])
  c.emit(0x49, 0x8b, 0x07); // mov rax, [r15] (argc)
  c.emit(0x49, 0x8d, 0x54, 0xc7, 0x10); // lea rdx, [r15 + rax*8 + 16] (envp)
  c.emit(0xb8).imm32(59).emit(0x0f, 0x05); // execve
  c.label('fail');
  c.emit(0x89, 0xc7, 0xf7, 0xdf); // mov edi, eax; neg edi
  c.emit(0xb8).imm32(231).emit(0x0f, 0x05); // exit_group(errno)
  c.label('slash').emit(0x2f, 0x00);
  return tinyElf(LAUNCHER_BASE, c.finish(), CODE_OFFSET, CODE_OFFSET);
}

let launcherPath: string | null = null;

/** The launcher, in a memfd this process keeps open for its children to execute. */
function launcher(): string {
  if (launcherPath) return launcherPath;
  const image = launcherElf([...KEEP_CAPS.keys(), ...SETUP_CAPS]);
  const fd = libc.memfdCreate('runsc-gofer-launcher', MFD_CLOEXEC);
  if (fd < 0 || libc.write(fd, image, image.length) !== image.length) throw new Error(`writing the gofer launcher: errno ${libc.errno()}`);
  return (launcherPath = `/proc/${process.pid}/fd/${fd}`);
}

export interface GoferHandle {
  pid: number;
  /** The Sentry's end of the 9P socket. */
  fd: number;
}

/** Starts a Gofer serving root on one end of a socketpair; its stderr goes to stderr (inherited by default). */
export function startGofer(root: string, readOnly: boolean, log: Logger, stderr: number | 'inherit' | 'ignore' = 'inherit'): GoferHandle {
  const sv = new Int32Array(2);
  if (libc.socketpair(AF_UNIX, SOCK_STREAM_CLOEXEC, 0, sv) < 0) throw new Error(`socketpair: errno ${libc.errno()}`);
  const args = [path.join(__dirname, 'gofer.js'), '--root', root, '--fd', '3', ...(readOnly ? ['--read-only'] : [])];
  let cmd = process.execPath;
  if (process.geteuid?.() === 0) {
    // Stage 2 checks that it runs in a mount namespace other than ours.
    const hostNs = statSync('/proc/self/ns/mnt', { bigint: true }).ino;
    args.push(`--confine-stage2=${hostNs}`);
    args.unshift(process.execPath);
    cmd = launcher();
  }
  // A session of its own: signals typed at runsc's terminal (^C) are the sandbox's, not the Gofer's.
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', stderr, sv[1]!], detached: true });
  child.on('error', (e) => log.error({ err: e.message }, 'gofer failed to start'));
  child.on('exit', (code) => {
    if (code) log.warn({ code }, 'gofer exited');
  });
  // The Gofer outlives nothing: it exits when the Sentry's end of the socket closes.
  child.unref();
  libc.close(sv[1]!);
  return { pid: child.pid ?? 0, fd: sv[0]! };
}
