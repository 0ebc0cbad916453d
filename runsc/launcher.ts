// The launcher: a tiny static ELF, assembled here and written to
// dist/launcher by `npm run build`, that puts a process into its confinement
// before Node starts. Namespaces such as the user namespace can only be
// entered by a single-threaded process, and Node has threads before any
// JavaScript runs; running this first costs a couple of milliseconds instead
// of a second Node start-up.
//
//   launcher FLAGS KEEP OPTS UIDMAP GIDMAP PROGRAM ARGS...
//
// FLAGS (decimal): unshare(2) flags. KEEP (decimal): the capabilities to keep
// in the bounding set, as a bit mask. OPTS (decimal): OPT_FORK. UIDMAP and
// GIDMAP: with CLONE_NEWUSER, the lines written to /proc/self/uid_map and
// gid_map (setgroups is denied first, as an unprivileged user must), else
// ignored. Then, in order:
//
//  1. unshare(FLAGS), and write the id maps;
//  2. with OPT_FORK, fork: the child goes on (it is pid 1 of a new PID
//     namespace and gets SIGKILL when the launcher dies); the launcher
//     ignores the terminal's SIGINT, SIGQUIT and SIGTSTP (the Sentry forwards
//     them into the sandbox), waits for the child and exits with its status (128+N when signal N killed it, and a
//     line on stderr when that signal is SIGSYS: a seccomp violation);
//  3. with CLONE_NEWNS, make every mount private (nothing propagates back);
//  4. no_new_privs; drop every capability not in KEEP from the bounding set;
//  5. execve(PROGRAM, [PROGRAM, ARGS...], environ).
//
// A failed step says so on stderr and exits with its errno as the status.
import { Code, tinyElf } from '../src/elf/tiny';

export const OPT_FORK = 1;

const BASE = 0x400000;
const CODE_OFFSET = 0x80;
const SIGSYS = 31;
const SIGINT = 2;
const SIGQUIT = 3;
const SIGTSTP = 20;
const SIGSYS_MESSAGE = 'runsc: the Sentry was killed by SIGSYS: a host syscall outside its seccomp allow list (the kernel log names it)\n';

const FAIL_MESSAGE = 'runsc: the launcher could not confine the process (namespaces need root, or --rootless); the exit status is the errno\n';

export function launcherElf(): Uint8Array {
  const c = new Code();
  const failIfNegative = (): Code => c.emit(0x48, 0x85, 0xc0).emit(0x0f, 0x88).rel32('fail'); // test rax, rax; js fail
  const syscall = (nr: number): Code => c.emit(0xb8).imm32(nr).emit(0x0f, 0x05); // mov eax, nr; syscall
  const argv = (i: number): number => 8 + 8 * i; // [r15 + this] is argv[i]

  c.emit(0x49, 0x89, 0xe7); // mov r15, rsp (argc, argv..., NULL, envp...)
  c.emit(0x49, 0x8b, 0x7f, argv(1)).emit(0xe8).rel32('parse').emit(0x49, 0x89, 0xc4); // r12 = FLAGS
  c.emit(0x49, 0x8b, 0x7f, argv(2)).emit(0xe8).rel32('parse').emit(0x49, 0x89, 0xc5); // r13 = KEEP
  c.emit(0x49, 0x8b, 0x7f, argv(3)).emit(0xe8).rel32('parse').emit(0x49, 0x89, 0xc6); // r14 = OPTS
  c.emit(0x4c, 0x89, 0xe7); // mov rdi, r12
  syscall(272); // unshare(FLAGS)
  failIfNegative();

  c.emit(0x49, 0x0f, 0xba, 0xe4, 28).emit(0x0f, 0x83).rel32('maps_done'); // bt r12, CLONE_NEWUSER; jnc
  c.emit(0x48, 0x8d, 0x3d).rel32('setgroups').emit(0x48, 0x8d, 0x35).rel32('deny').emit(0xe8).rel32('writefile');
  c.emit(0x48, 0x8d, 0x3d).rel32('uid_map').emit(0x49, 0x8b, 0x77, argv(4)).emit(0xe8).rel32('writefile');
  c.emit(0x48, 0x8d, 0x3d).rel32('gid_map').emit(0x49, 0x8b, 0x77, argv(5)).emit(0xe8).rel32('writefile');
  c.label('maps_done');

  c.emit(0x41, 0xf6, 0xc6, OPT_FORK).emit(0x0f, 0x84).rel32('child'); // test r14b, OPT_FORK; jz child
  syscall(57); // fork
  failIfNegative();
  c.emit(0x0f, 0x85).rel32('parent'); // jnz parent
  c.emit(0xbf).imm32(1).emit(0xbe).imm32(9).emit(0x31, 0xd2, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xc0);
  syscall(157); // prctl(PR_SET_PDEATHSIG, SIGKILL)
  failIfNegative();
  c.emit(0xe9).rel32('child');

  c.label('parent');
  c.emit(0x48, 0x89, 0xc3); // mov rbx, rax (the child)
  // Signals typed at a terminal are the Sentry's to forward to the sandbox's
  // foreground group: the launcher, in the same process group, ignores them.
  for (const sig of [SIGINT, SIGQUIT, SIGTSTP]) {
    c.emit(0xbf).imm32(sig).emit(0x48, 0x8d, 0x35).rel32('sigign'); // edi = sig; rsi = &{SIG_IGN}
    c.emit(0x31, 0xd2, 0x41, 0xba).imm32(8); // edx = 0 (no old action); r10d = sizeof(sigset_t)
    syscall(13); // rt_sigaction
  }
  c.emit(0x48, 0x83, 0xec, 0x10); // sub rsp, 16 (int status)
  c.label('wait');
  c.emit(0x48, 0x89, 0xdf, 0x48, 0x89, 0xe6, 0x31, 0xd2, 0x45, 0x31, 0xd2); // rdi = child, rsi = &status, rdx = r10 = 0
  syscall(61); // wait4
  c.emit(0x48, 0x83, 0xf8, 0xfc).emit(0x0f, 0x84).rel32('wait'); // cmp rax, -EINTR; je wait
  failIfNegative();
  c.emit(0x8b, 0x04, 0x24, 0x89, 0xc7, 0x83, 0xe7, 0x7f); // mov eax, [rsp]; mov edi, eax; and edi, 0x7f
  c.emit(0x0f, 0x85).rel32('signaled');
  c.emit(0xc1, 0xe8, 0x08, 0x0f, 0xb6, 0xf8); // shr eax, 8; movzx edi, al
  syscall(231); // exit_group(exit status)
  c.label('signaled');
  c.emit(0x83, 0xff, SIGSYS).emit(0x0f, 0x85).rel32('died');
  c.emit(0x57, 0xbf).imm32(2).emit(0x48, 0x8d, 0x35).rel32('sigsys').emit(0xba).imm32(SIGSYS_MESSAGE.length);
  syscall(1); // write(2, message)
  c.emit(0x5f); // pop rdi
  c.label('died');
  c.emit(0x81, 0xc7).imm32(128); // add edi, 128
  syscall(231);

  c.label('child');
  c.emit(0x49, 0x0f, 0xba, 0xe4, 17).emit(0x0f, 0x83).rel32('nnp'); // bt r12, CLONE_NEWNS; jnc nnp
  c.emit(0x31, 0xff, 0x48, 0x8d, 0x35).rel32('slash'); // edi = 0; rsi = "/"
  c.emit(0x31, 0xd2, 0x41, 0xba).imm32(0x44000).emit(0x45, 0x31, 0xc0); // edx = 0; r10d = MS_REC|MS_PRIVATE; r8d = 0
  syscall(165); // mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)
  failIfNegative();
  c.label('nnp');
  c.emit(0xbf).imm32(38).emit(0xbe).imm32(1).emit(0x31, 0xd2, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xc0);
  syscall(157); // prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
  failIfNegative();
  c.emit(0x45, 0x31, 0xe4); // xor r12d, r12d (capability number)
  c.label('cap');
  c.emit(0x4d, 0x0f, 0xa3, 0xe5).emit(0x0f, 0x82).rel32('next'); // bt r13, r12; jc next (kept)
  c.emit(0xbf).imm32(24).emit(0x4c, 0x89, 0xe6).emit(0x31, 0xd2, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xc0);
  syscall(157); // prctl(PR_CAPBSET_DROP, r12, 0, 0, 0)
  c.emit(0x48, 0x83, 0xf8, 0xea).emit(0x0f, 0x84).rel32('exec'); // -EINVAL: past the kernel's last capability
  failIfNegative();
  c.label('next');
  c.emit(0x49, 0xff, 0xc4, 0x49, 0x83, 0xfc, 0x40).emit(0x0f, 0x82).rel32('cap'); // inc r12; cmp r12, 64; jb cap
  c.label('exec');
  c.emit(0x49, 0x8b, 0x7f, argv(6)); // mov rdi, argv[6]
  c.emit(0x49, 0x8d, 0x77, argv(6)); // lea rsi, &argv[6]
  c.emit(0x49, 0x8b, 0x07, 0x49, 0x8d, 0x54, 0xc7, 0x10); // mov rax, argc; lea rdx, [r15 + rax*8 + 16] (envp)
  syscall(59); // execve
  c.label('fail');
  c.emit(0x89, 0xc3, 0xf7, 0xdb); // mov ebx, eax; neg ebx
  c.emit(0xbf).imm32(2).emit(0x48, 0x8d, 0x35).rel32('failed').emit(0xba).imm32(FAIL_MESSAGE.length);
  syscall(1); // write(2, message)
  c.emit(0x89, 0xdf); // mov edi, ebx
  syscall(231); // exit_group(errno)

  // parse: rax = the decimal number at rdi.
  c.label('parse');
  c.emit(0x31, 0xc0);
  c.label('digit');
  c.emit(0x0f, 0xb6, 0x0f, 0x83, 0xe9, 0x30, 0x83, 0xf9, 0x09); // movzx ecx, byte [rdi]; sub ecx, '0'; cmp ecx, 9
  c.emit(0x0f, 0x87).rel32('parsed'); // ja parsed
  c.emit(0x48, 0x6b, 0xc0, 0x0a, 0x48, 0x01, 0xc8, 0x48, 0xff, 0xc7).emit(0xe9).rel32('digit'); // rax = rax*10 + rcx; rdi++
  c.label('parsed');
  c.emit(0xc3);

  // writefile: writes the string at rsi to the file at path rdi.
  c.label('writefile');
  c.emit(0x56, 0xbe).imm32(1).emit(0x31, 0xd2); // push rsi; esi = O_WRONLY; edx = 0
  syscall(2); // open
  failIfNegative();
  c.emit(0x48, 0x89, 0xc7, 0x5e, 0x31, 0xd2); // mov rdi, rax; pop rsi; edx = 0
  c.label('len');
  c.emit(0x80, 0x3c, 0x16, 0x00).emit(0x0f, 0x84).rel32('write'); // cmp byte [rsi+rdx], 0; je write
  c.emit(0x48, 0xff, 0xc2).emit(0xe9).rel32('len');
  c.label('write');
  syscall(1);
  failIfNegative();
  syscall(3); // close(rdi)
  c.emit(0xc3);

  const str = (name: string, s: string): Code => c.label(name).emit(...Buffer.from(`${s}\0`, 'latin1'));
  // struct kernel_sigaction { handler = SIG_IGN, flags, restorer, mask }.
  c.label('sigign').emit(1, 0, 0, 0, 0, 0, 0, 0, ...new Array<number>(24).fill(0));
  str('slash', '/');
  str('setgroups', '/proc/self/setgroups');
  str('deny', 'deny');
  str('uid_map', '/proc/self/uid_map');
  str('gid_map', '/proc/self/gid_map');
  str('sigsys', SIGSYS_MESSAGE);
  str('failed', FAIL_MESSAGE);
  return tinyElf(BASE, c.finish(), CODE_OFFSET, CODE_OFFSET);
}

/** KEEP for a list of capability numbers. */
export function capMask(caps: readonly number[]): string {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString();
}
