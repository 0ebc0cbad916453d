// Linux x86-64 ABI constants the Sentry shares with the workload, grouped by
// the uapi header they come from. Values are the KERNEL's, which sometimes
// differ from glibc's (noted where they do: O_LARGEFILE, NSIG, NCCS, SIGRTMIN).
//
// Every value here is checked against the C headers by test/abi.test.ts.
// Flags above bit 30 are given as positive numbers (0x80000000, not -2^31):
// combine them with `|` only after `>>> 0`, or compare with `(x & F) !== 0`.
// Flags above bit 31 (CLONE_CLEAR_SIGHAND, ...) are exact numbers; test them
// with Math/BigInt, never with 32-bit bitwise operators.

// ---- Page and path limits: <asm/page.h>, <linux/limits.h>, <linux/uio.h> ----
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
export const PATH_MAX = 4096;
export const NAME_MAX = 255;
export const PIPE_BUF = 4096;
export const UIO_MAXIOV = 1024;
export const NGROUPS_MAX = 65536;
export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 65536;
export const XATTR_LIST_MAX = 65536;

// ---- open(2) flags: <asm-generic/fcntl.h> (octal, as in the header) ----
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_NDELAY = O_NONBLOCK;
export const O_DSYNC = 0o10000;
/** Also called O_ASYNC. */
export const FASYNC = 0o20000;
export const O_ASYNC = FASYNC;
export const O_DIRECT = 0o40000;
/** Kernel value; glibc defines O_LARGEFILE as 0 on x86-64, so workloads never pass it, but the kernel sets it in F_GETFL. */
export const O_LARGEFILE = 0o100000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const __O_SYNC = 0o4000000;
export const O_SYNC = __O_SYNC | O_DSYNC;
export const O_RSYNC = O_SYNC;
export const O_PATH = 0o10000000;
export const __O_TMPFILE = 0o20000000;
export const O_TMPFILE = __O_TMPFILE | O_DIRECTORY;

// ---- openat2(2) resolve flags: <linux/openat2.h> ----
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;
export const RESOLVE_CACHED = 0x20;

// ---- *at(2) flags: <linux/fcntl.h> ----
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
/** faccessat(2): use effective ids. Same bit as AT_REMOVEDIR (different syscalls). */
export const AT_EACCESS = 0x200;
/** unlinkat(2): remove a directory. */
export const AT_REMOVEDIR = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
export const AT_STATX_SYNC_TYPE = 0x6000;
export const AT_STATX_SYNC_AS_STAT = 0x0000;
export const AT_STATX_FORCE_SYNC = 0x2000;
export const AT_STATX_DONT_SYNC = 0x4000;
export const AT_RECURSIVE = 0x8000;

// ---- statx(2) mask and attributes: <linux/stat.h> ----
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_CTIME = 0x80;
export const STATX_INO = 0x100;
export const STATX_SIZE = 0x200;
export const STATX_BLOCKS = 0x400;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_MNT_ID = 0x1000;
export const STATX_DIOALIGN = 0x2000;
export const STATX_MNT_ID_UNIQUE = 0x4000;
export const STATX_ATTR_COMPRESSED = 0x4;
export const STATX_ATTR_IMMUTABLE = 0x10;
export const STATX_ATTR_APPEND = 0x20;
export const STATX_ATTR_NODUMP = 0x40;
export const STATX_ATTR_ENCRYPTED = 0x800;
export const STATX_ATTR_AUTOMOUNT = 0x1000;
export const STATX_ATTR_MOUNT_ROOT = 0x2000;
export const STATX_ATTR_VERITY = 0x100000;
export const STATX_ATTR_DAX = 0x200000;

// ---- File type and mode bits: <linux/stat.h> ----
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
export const S_IRWXU = 0o700;
export const S_IRUSR = 0o400;
export const S_IWUSR = 0o200;
export const S_IXUSR = 0o100;
export const S_IRWXG = 0o070;
export const S_IRGRP = 0o040;
export const S_IWGRP = 0o020;
export const S_IXGRP = 0o010;
export const S_IRWXO = 0o007;
export const S_IROTH = 0o004;
export const S_IWOTH = 0o002;
export const S_IXOTH = 0o001;
/** Permission bits chmod(2) may change. */
export const S_IALLUGO = S_ISUID | S_ISGID | S_ISVTX | S_IRWXU | S_IRWXG | S_IRWXO;

// ---- access(2) modes: <unistd.h> ----
export const F_OK = 0;
export const X_OK = 1;
export const W_OK = 2;
export const R_OK = 4;

// ---- Directory entry types (linux_dirent64.d_type): <linux/fs.h> / <dirent.h> ----
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;
export const DT_WHT = 14;

// ---- fcntl(2) commands: <asm-generic/fcntl.h>, <linux/fcntl.h> ----
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_SETOWN = 8;
export const F_GETOWN = 9;
export const F_SETSIG = 10;
export const F_GETSIG = 11;
export const F_SETOWN_EX = 15;
export const F_GETOWN_EX = 16;
export const F_GETOWNER_UIDS = 17;
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;
export const F_LINUX_SPECIFIC_BASE = 1024;
export const F_SETLEASE = 1024;
export const F_GETLEASE = 1025;
export const F_NOTIFY = 1026;
export const F_DUPFD_QUERY = 1027;
export const F_CANCELLK = 1029;
export const F_DUPFD_CLOEXEC = 1030;
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_GET_RW_HINT = 1035;
export const F_SET_RW_HINT = 1036;
export const F_GET_FILE_RW_HINT = 1037;
export const F_SET_FILE_RW_HINT = 1038;
/** The only file-descriptor flag (F_GETFD/F_SETFD). */
export const FD_CLOEXEC = 1;
// struct flock l_type
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
// F_SETOWN_EX types
export const F_OWNER_TID = 0;
export const F_OWNER_PID = 1;
export const F_OWNER_PGRP = 2;
// memfd seals
export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const F_SEAL_GROW = 0x0004;
export const F_SEAL_WRITE = 0x0008;
export const F_SEAL_FUTURE_WRITE = 0x0010;
export const F_SEAL_EXEC = 0x0020;
// flock(2)
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

// ---- memfd_create(2): <linux/memfd.h> ----
export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;
export const MFD_HUGETLB = 0x0004;
export const MFD_NOEXEC_SEAL = 0x0008;
export const MFD_EXEC = 0x0010;

// ---- lseek(2) whence: <linux/fs.h> ----
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

// ---- renameat2(2) flags: <linux/fs.h> ----
export const RENAME_NOREPLACE = 1 << 0;
export const RENAME_EXCHANGE = 1 << 1;
export const RENAME_WHITEOUT = 1 << 2;

// ---- utimensat(2) special tv_nsec values: <linux/stat.h> ----
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

// ---- fallocate(2) modes: <linux/falloc.h> ----
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;

// ---- mmap(2) and friends: <asm-generic/mman-common.h>, <asm/mman.h>, <linux/mman.h> ----
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_ANON = MAP_ANONYMOUS;
/** x86-64 only: map in the low 2 GiB. */
export const MAP_32BIT = 0x40;
export const MAP_GROWSDOWN = 0x0100;
export const MAP_DENYWRITE = 0x0800;
export const MAP_EXECUTABLE = 0x1000;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x008000;
export const MAP_NONBLOCK = 0x010000;
export const MAP_STACK = 0x020000;
export const MAP_HUGETLB = 0x040000;
export const MAP_SYNC = 0x080000;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_UNINITIALIZED = 0x4000000;
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_MASK = 0x3f;
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_REMOVE = 9;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_DONTDUMP = 16;
export const MADV_DODUMP = 17;
export const MADV_WIPEONFORK = 18;
export const MADV_KEEPONFORK = 19;
export const MADV_COLD = 20;
export const MADV_PAGEOUT = 21;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;
export const MADV_DONTNEED_LOCKED = 24;
export const MADV_COLLAPSE = 25;
export const MADV_HWPOISON = 100;
export const MADV_SOFT_OFFLINE = 101;
// msync(2)
export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;
// mlockall(2), mlock2(2)
export const MCL_CURRENT = 1;
export const MCL_FUTURE = 2;
export const MCL_ONFAULT = 4;
export const MLOCK_ONFAULT = 0x01;

// ---- clone(2)/clone3(2)/unshare(2) flags: <linux/sched.h> ----
/** Low byte of clone(2) flags: the exit signal sent to the parent. */
export const CSIGNAL = 0x000000ff;
/** clone3/unshare only (shares bits with CSIGNAL, which clone3 does not use). */
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_PIDFD = 0x00001000;
export const CLONE_PTRACE = 0x00002000;
export const CLONE_VFORK = 0x00004000;
export const CLONE_PARENT = 0x00008000;
export const CLONE_THREAD = 0x00010000;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_SETTLS = 0x00080000;
export const CLONE_PARENT_SETTID = 0x00100000;
export const CLONE_CHILD_CLEARTID = 0x00200000;
export const CLONE_DETACHED = 0x00400000;
export const CLONE_UNTRACED = 0x00800000;
export const CLONE_CHILD_SETTID = 0x01000000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_IO = 0x80000000;
/** clone3 only; above bit 31 (use BigInt or arithmetic to test). */
export const CLONE_CLEAR_SIGHAND = 0x100000000;
/** clone3 only; above bit 31. */
export const CLONE_INTO_CGROUP = 0x200000000;

// ---- wait4(2)/waitid(2): <linux/wait.h> ----
export const WNOHANG = 0x00000001;
export const WUNTRACED = 0x00000002;
export const WSTOPPED = WUNTRACED;
export const WEXITED = 0x00000004;
export const WCONTINUED = 0x00000008;
export const WNOWAIT = 0x01000000;
export const __WNOTHREAD = 0x20000000;
export const __WALL = 0x40000000;
export const __WCLONE = 0x80000000;
// waitid idtype
export const P_ALL = 0;
export const P_PID = 1;
export const P_PGID = 2;
export const P_PIDFD = 3;

// ---- Signals: <asm/signal.h> ----
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGIOT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGSTKFLT = 16;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGIO = 29;
export const SIGPOLL = SIGIO;
export const SIGPWR = 30;
export const SIGSYS = 31;
/** Kernel value; glibc's SIGRTMIN is 34 because NPTL reserves 32 and 33. */
export const SIGRTMIN = 32;
export const SIGRTMAX = 64;
/** Kernel _NSIG: signals are 1..64. (glibc's NSIG is 65.) */
export const NSIG = 64;
/** Bytes in a kernel sigset_t (rt_sigprocmask's sigsetsize argument). */
export const SIGSET_SIZE = 8;
export const SIG_DFL = 0;
export const SIG_IGN = 1;
export const SIG_ERR = -1;
// rt_sigprocmask(2) how
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;
// sigaction sa_flags
export const SA_NOCLDSTOP = 0x00000001;
export const SA_NOCLDWAIT = 0x00000002;
export const SA_SIGINFO = 0x00000004;
export const SA_UNSUPPORTED = 0x00000400;
export const SA_EXPOSE_TAGBITS = 0x00000800;
export const SA_RESTORER = 0x04000000;
export const SA_ONSTACK = 0x08000000;
export const SA_RESTART = 0x10000000;
export const SA_NODEFER = 0x40000000;
export const SA_RESETHAND = 0x80000000;
export const SA_NOMASK = SA_NODEFER;
export const SA_ONESHOT = SA_RESETHAND;
// sigaltstack(2)
export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;
export const SS_AUTODISARM = 0x80000000;
export const MINSIGSTKSZ = 2048;
export const SIGSTKSZ = 8192;
// sigevent notify: <asm-generic/siginfo.h>
export const SIGEV_SIGNAL = 0;
export const SIGEV_NONE = 1;
export const SIGEV_THREAD = 2;
export const SIGEV_THREAD_ID = 4;

const SIGNAL_NAMES: readonly string[] = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE',
  'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT',
  'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU',
  'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];

/** 'SIGSEGV' for 11; real-time signals as strace prints them ('SIGRTMIN', 'SIGRT_1', ...); otherwise `SIG<n>`. */
export function signalName(n: number): string {
  if (n >= 1 && n < SIGRTMIN) return SIGNAL_NAMES[n]!;
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n > SIGRTMIN && n <= SIGRTMAX) return `SIGRT_${n - SIGRTMIN}`;
  return `SIG${n}`;
}

/** Bit for signal n in a 64-bit sigset_t (as a bigint). */
export function sigmask(n: number): bigint {
  return 1n << BigInt(n - 1);
}

// ---- siginfo si_code values: <asm-generic/siginfo.h> ----
export const SI_USER = 0;
export const SI_KERNEL = 0x80;
export const SI_QUEUE = -1;
export const SI_TIMER = -2;
export const SI_MESGQ = -3;
export const SI_ASYNCIO = -4;
export const SI_SIGIO = -5;
export const SI_TKILL = -6;
export const SI_DETHREAD = -7;
export const SI_ASYNCNL = -60;
// SIGILL
export const ILL_ILLOPC = 1;
export const ILL_ILLOPN = 2;
export const ILL_ILLADR = 3;
export const ILL_ILLTRP = 4;
export const ILL_PRVOPC = 5;
export const ILL_PRVREG = 6;
export const ILL_COPROC = 7;
export const ILL_BADSTK = 8;
export const ILL_BADIADDR = 9;
// SIGFPE
export const FPE_INTDIV = 1;
export const FPE_INTOVF = 2;
export const FPE_FLTDIV = 3;
export const FPE_FLTOVF = 4;
export const FPE_FLTUND = 5;
export const FPE_FLTRES = 6;
export const FPE_FLTINV = 7;
export const FPE_FLTSUB = 8;
// SIGSEGV
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SEGV_BNDERR = 3;
export const SEGV_PKUERR = 4;
export const SEGV_ACCADI = 5;
export const SEGV_ADIDERR = 6;
export const SEGV_ADIPERR = 7;
export const SEGV_MTEAERR = 8;
export const SEGV_MTESERR = 9;
export const SEGV_CPERR = 10;
// SIGBUS
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const BUS_OBJERR = 3;
export const BUS_MCEERR_AR = 4;
export const BUS_MCEERR_AO = 5;
// SIGTRAP
export const TRAP_BRKPT = 1;
export const TRAP_TRACE = 2;
export const TRAP_BRANCH = 3;
export const TRAP_HWBKPT = 4;
export const TRAP_UNK = 5;
// SIGCHLD
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;
export const CLD_TRAPPED = 4;
export const CLD_STOPPED = 5;
export const CLD_CONTINUED = 6;
// SIGIO/SIGPOLL
export const POLL_IN = 1;
export const POLL_OUT = 2;
export const POLL_MSG = 3;
export const POLL_ERR = 4;
export const POLL_PRI = 5;
export const POLL_HUP = 6;
// SIGSYS
export const SYS_SECCOMP = 1;

// ---- Clocks and timers: <linux/time.h> ----
export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;
export const CLOCK_PROCESS_CPUTIME_ID = 2;
export const CLOCK_THREAD_CPUTIME_ID = 3;
export const CLOCK_MONOTONIC_RAW = 4;
export const CLOCK_REALTIME_COARSE = 5;
export const CLOCK_MONOTONIC_COARSE = 6;
export const CLOCK_BOOTTIME = 7;
export const CLOCK_REALTIME_ALARM = 8;
export const CLOCK_BOOTTIME_ALARM = 9;
export const CLOCK_TAI = 11;
export const TIMER_ABSTIME = 0x01;
export const ITIMER_REAL = 0;
export const ITIMER_VIRTUAL = 1;
export const ITIMER_PROF = 2;
// timerfd_create(2)/timerfd_settime(2): <linux/timerfd.h>
export const TFD_TIMER_ABSTIME = 1 << 0;
export const TFD_TIMER_CANCEL_ON_SET = 1 << 1;
export const TFD_CLOEXEC = O_CLOEXEC;
export const TFD_NONBLOCK = O_NONBLOCK;

// ---- Terminal ioctls: <asm-generic/ioctls.h> ----
export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
export const TCSETSW = 0x5403;
export const TCSETSF = 0x5404;
export const TCGETA = 0x5405;
export const TCSETA = 0x5406;
export const TCSETAW = 0x5407;
export const TCSETAF = 0x5408;
export const TCSBRK = 0x5409;
export const TCXONC = 0x540a;
export const TCFLSH = 0x540b;
export const TIOCEXCL = 0x540c;
export const TIOCNXCL = 0x540d;
export const TIOCSCTTY = 0x540e;
export const TIOCGPGRP = 0x540f;
export const TIOCSPGRP = 0x5410;
export const TIOCOUTQ = 0x5411;
export const TIOCSTI = 0x5412;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const TIOCMGET = 0x5415;
export const TIOCMBIS = 0x5416;
export const TIOCMBIC = 0x5417;
export const TIOCMSET = 0x5418;
export const TIOCGSOFTCAR = 0x5419;
export const TIOCSSOFTCAR = 0x541a;
export const FIONREAD = 0x541b;
export const TIOCINQ = FIONREAD;
export const TIOCLINUX = 0x541c;
export const TIOCCONS = 0x541d;
export const TIOCGSERIAL = 0x541e;
export const TIOCSSERIAL = 0x541f;
export const TIOCPKT = 0x5420;
export const FIONBIO = 0x5421;
export const TIOCNOTTY = 0x5422;
export const TIOCSETD = 0x5423;
export const TIOCGETD = 0x5424;
export const TCSBRKP = 0x5425;
export const TIOCSBRK = 0x5427;
export const TIOCCBRK = 0x5428;
export const TIOCGSID = 0x5429;
export const TIOCGPTN = 0x80045430;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGDEV = 0x80045432;
export const TIOCSIG = 0x40045436;
export const TIOCVHANGUP = 0x5437;
export const TIOCGPKT = 0x80045438;
export const TIOCGPTLCK = 0x80045439;
export const TIOCGEXCL = 0x80045440;
export const TIOCGPTPEER = 0x5441;
export const FIONCLEX = 0x5450;
export const FIOCLEX = 0x5451;
export const FIOASYNC = 0x5452;
export const FIOQSIZE = 0x5460;
// <asm-generic/sockios.h>
export const FIOSETOWN = 0x8901;
export const SIOCSPGRP = 0x8902;
export const FIOGETOWN = 0x8903;
export const SIOCGPGRP = 0x8904;
export const SIOCATMARK = 0x8905;

// ---- Terminal attributes (kernel struct termios): <asm-generic/termbits.h> ----
/** Kernel NCCS (struct termios as TCGETS sees it). glibc's userspace NCCS is 32. */
export const NCCS = 19;
// c_cc indices
export const VINTR = 0;
export const VQUIT = 1;
export const VERASE = 2;
export const VKILL = 3;
export const VEOF = 4;
export const VTIME = 5;
export const VMIN = 6;
export const VSWTC = 7;
export const VSTART = 8;
export const VSTOP = 9;
export const VSUSP = 10;
export const VEOL = 11;
export const VREPRINT = 12;
export const VDISCARD = 13;
export const VWERASE = 14;
export const VLNEXT = 15;
export const VEOL2 = 16;
// c_iflag
export const IGNBRK = 0o000001;
export const BRKINT = 0o000002;
export const IGNPAR = 0o000004;
export const PARMRK = 0o000010;
export const INPCK = 0o000020;
export const ISTRIP = 0o000040;
export const INLCR = 0o000100;
export const IGNCR = 0o000200;
export const ICRNL = 0o000400;
export const IUCLC = 0o001000;
export const IXON = 0o002000;
export const IXANY = 0o004000;
export const IXOFF = 0o010000;
export const IMAXBEL = 0o020000;
export const IUTF8 = 0o040000;
// c_oflag
export const OPOST = 0o000001;
export const OLCUC = 0o000002;
export const ONLCR = 0o000004;
export const OCRNL = 0o000010;
export const ONOCR = 0o000020;
export const ONLRET = 0o000040;
export const OFILL = 0o000100;
export const OFDEL = 0o000200;
// c_cflag
export const CBAUD = 0o010017;
export const B0 = 0o000000;
export const B9600 = 0o000015;
export const B38400 = 0o000017;
export const CSIZE = 0o000060;
export const CS5 = 0o000000;
export const CS6 = 0o000020;
export const CS7 = 0o000040;
export const CS8 = 0o000060;
export const CSTOPB = 0o000100;
export const CREAD = 0o000200;
export const PARENB = 0o000400;
export const PARODD = 0o001000;
export const HUPCL = 0o002000;
export const CLOCAL = 0o004000;
// c_lflag
export const ISIG = 0o000001;
export const ICANON = 0o000002;
export const XCASE = 0o000004;
export const ECHO = 0o000010;
export const ECHOE = 0o000020;
export const ECHOK = 0o000040;
export const ECHONL = 0o000100;
export const NOFLSH = 0o000200;
export const TOSTOP = 0o000400;
export const ECHOCTL = 0o001000;
export const ECHOPRT = 0o002000;
export const ECHOKE = 0o004000;
export const FLUSHO = 0o010000;
export const PENDIN = 0o040000;
export const IEXTEN = 0o100000;
export const EXTPROC = 0o200000;
// tcflush(3)/TCFLSH, tcflow(3)/TCXONC
export const TCIFLUSH = 0;
export const TCOFLUSH = 1;
export const TCIOFLUSH = 2;
export const TCOOFF = 0;
export const TCOON = 1;
export const TCIOFF = 2;
export const TCION = 3;

// ---- Resource limits: <asm-generic/resource.h>, <linux/resource.h> ----
export const RLIMIT_CPU = 0;
export const RLIMIT_FSIZE = 1;
export const RLIMIT_DATA = 2;
export const RLIMIT_STACK = 3;
export const RLIMIT_CORE = 4;
export const RLIMIT_RSS = 5;
export const RLIMIT_NPROC = 6;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
export const RLIMIT_AS = 9;
export const RLIMIT_LOCKS = 10;
export const RLIMIT_SIGPENDING = 11;
export const RLIMIT_MSGQUEUE = 12;
export const RLIMIT_NICE = 13;
export const RLIMIT_RTPRIO = 14;
export const RLIMIT_RTTIME = 15;
export const RLIM_NLIMITS = 16;
/** (unsigned long)-1: a bigint, since it does not fit in a double exactly. */
export const RLIM_INFINITY = 0xffffffffffffffffn;
export const RUSAGE_SELF = 0;
export const RUSAGE_CHILDREN = -1;
export const RUSAGE_THREAD = 1;
export const PRIO_PROCESS = 0;
export const PRIO_PGRP = 1;
export const PRIO_USER = 2;

// ---- prctl(2) options: <linux/prctl.h> ----
export const PR_SET_PDEATHSIG = 1;
export const PR_GET_PDEATHSIG = 2;
export const PR_GET_DUMPABLE = 3;
export const PR_SET_DUMPABLE = 4;
export const PR_GET_UNALIGN = 5;
export const PR_SET_UNALIGN = 6;
export const PR_GET_KEEPCAPS = 7;
export const PR_SET_KEEPCAPS = 8;
export const PR_GET_FPEMU = 9;
export const PR_SET_FPEMU = 10;
export const PR_GET_FPEXC = 11;
export const PR_SET_FPEXC = 12;
export const PR_GET_TIMING = 13;
export const PR_SET_TIMING = 14;
export const PR_SET_NAME = 15;
export const PR_GET_NAME = 16;
export const PR_GET_ENDIAN = 19;
export const PR_SET_ENDIAN = 20;
export const PR_GET_SECCOMP = 21;
export const PR_SET_SECCOMP = 22;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_GET_TSC = 25;
export const PR_SET_TSC = 26;
export const PR_GET_SECUREBITS = 27;
export const PR_SET_SECUREBITS = 28;
export const PR_SET_TIMERSLACK = 29;
export const PR_GET_TIMERSLACK = 30;
export const PR_TASK_PERF_EVENTS_DISABLE = 31;
export const PR_TASK_PERF_EVENTS_ENABLE = 32;
export const PR_MCE_KILL = 33;
export const PR_MCE_KILL_GET = 34;
export const PR_SET_MM = 35;
export const PR_SET_CHILD_SUBREAPER = 36;
export const PR_GET_CHILD_SUBREAPER = 37;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_GET_TID_ADDRESS = 40;
export const PR_SET_THP_DISABLE = 41;
export const PR_GET_THP_DISABLE = 42;
export const PR_MPX_ENABLE_MANAGEMENT = 43;
export const PR_MPX_DISABLE_MANAGEMENT = 44;
export const PR_SET_FP_MODE = 45;
export const PR_GET_FP_MODE = 46;
export const PR_CAP_AMBIENT = 47;
export const PR_GET_SPECULATION_CTRL = 52;
export const PR_SET_SPECULATION_CTRL = 53;
export const PR_SET_SYSCALL_USER_DISPATCH = 59;
export const PR_SCHED_CORE = 62;
export const PR_SET_MDWE = 65;
export const PR_GET_MDWE = 66;
export const PR_SET_VMA = 0x53564d41;
export const PR_SET_PTRACER = 0x59616d61;
/** Task comm length, including the NUL (PR_SET_NAME/PR_GET_NAME). */
export const TASK_COMM_LEN = 16;

// ---- arch_prctl(2) codes: <asm/prctl.h> ----
export const ARCH_SET_GS = 0x1001;
export const ARCH_SET_FS = 0x1002;
export const ARCH_GET_FS = 0x1003;
export const ARCH_GET_GS = 0x1004;
export const ARCH_GET_CPUID = 0x1011;
export const ARCH_SET_CPUID = 0x1012;
export const ARCH_GET_XCOMP_SUPP = 0x1021;
export const ARCH_GET_XCOMP_PERM = 0x1022;
export const ARCH_REQ_XCOMP_PERM = 0x1023;

// ---- ELF auxiliary vector tags: <linux/auxvec.h>, <asm/auxvec.h> ----
// Named AUXV_AT_* so they do not clash with the *at(2) AT_* flags above.
export const AUXV_AT_NULL = 0;
export const AUXV_AT_IGNORE = 1;
export const AUXV_AT_EXECFD = 2;
export const AUXV_AT_PHDR = 3;
export const AUXV_AT_PHENT = 4;
export const AUXV_AT_PHNUM = 5;
export const AUXV_AT_PAGESZ = 6;
export const AUXV_AT_BASE = 7;
export const AUXV_AT_FLAGS = 8;
export const AUXV_AT_ENTRY = 9;
export const AUXV_AT_NOTELF = 10;
export const AUXV_AT_UID = 11;
export const AUXV_AT_EUID = 12;
export const AUXV_AT_GID = 13;
export const AUXV_AT_EGID = 14;
export const AUXV_AT_PLATFORM = 15;
export const AUXV_AT_HWCAP = 16;
export const AUXV_AT_CLKTCK = 17;
export const AUXV_AT_SECURE = 23;
export const AUXV_AT_BASE_PLATFORM = 24;
export const AUXV_AT_RANDOM = 25;
export const AUXV_AT_HWCAP2 = 26;
export const AUXV_AT_RSEQ_FEATURE_SIZE = 27;
export const AUXV_AT_RSEQ_ALIGN = 28;
export const AUXV_AT_HWCAP3 = 29;
export const AUXV_AT_HWCAP4 = 30;
export const AUXV_AT_EXECFN = 31;
/** i386 only (vsyscall entry); not emitted on x86-64. */
export const AUXV_AT_SYSINFO = 32;
export const AUXV_AT_SYSINFO_EHDR = 33;
export const AUXV_AT_MINSIGSTKSZ = 51;

// ---- getrandom(2): <linux/random.h> ----
export const GRND_NONBLOCK = 0x0001;
export const GRND_RANDOM = 0x0002;
export const GRND_INSECURE = 0x0004;

// ---- poll(2) events: <asm-generic/poll.h> ----
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
export const POLLRDNORM = 0x0040;
export const POLLRDBAND = 0x0080;
export const POLLWRNORM = 0x0100;
export const POLLWRBAND = 0x0200;
export const POLLMSG = 0x0400;
export const POLLREMOVE = 0x1000;
export const POLLRDHUP = 0x2000;

// ---- epoll(7): <linux/eventpoll.h> ----
export const EPOLL_CLOEXEC = O_CLOEXEC;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
export const EPOLLIN = 0x00000001;
export const EPOLLPRI = 0x00000002;
export const EPOLLOUT = 0x00000004;
export const EPOLLERR = 0x00000008;
export const EPOLLHUP = 0x00000010;
export const EPOLLNVAL = 0x00000020;
export const EPOLLRDNORM = 0x00000040;
export const EPOLLRDBAND = 0x00000080;
export const EPOLLWRNORM = 0x00000100;
export const EPOLLWRBAND = 0x00000200;
export const EPOLLMSG = 0x00000400;
export const EPOLLRDHUP = 0x00002000;
export const EPOLLEXCLUSIVE = 0x10000000;
export const EPOLLWAKEUP = 0x20000000;
export const EPOLLONESHOT = 0x40000000;
export const EPOLLET = 0x80000000;

// ---- eventfd(2), signalfd(2): <linux/eventfd.h>, <linux/signalfd.h> ----
export const EFD_SEMAPHORE = 1 << 0;
export const EFD_CLOEXEC = O_CLOEXEC;
export const EFD_NONBLOCK = O_NONBLOCK;
export const SFD_CLOEXEC = O_CLOEXEC;
export const SFD_NONBLOCK = O_NONBLOCK;

// ---- inotify(7): <linux/inotify.h> ----
export const IN_CLOEXEC = O_CLOEXEC;
export const IN_NONBLOCK = O_NONBLOCK;

// ---- Sockets: <linux/socket.h>, <asm-generic/socket.h>, <linux/net.h> ----
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_LOCAL = AF_UNIX;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;

// <netinet/in.h>, <netinet/tcp.h>, <linux/in6.h>: protocols and their option levels.
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const SOL_IP = 0;
export const SOL_TCP = 6;
export const SOL_UDP = 17;
export const SOL_IPV6 = 41;
export const SOL_NETLINK = 270;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_DEFER_ACCEPT = 9;
export const TCP_QUICKACK = 12;
export const TCP_USER_TIMEOUT = 18;
export const NETLINK_ROUTE = 0;
export const AF_VSOCK = 40;
export const PF_UNSPEC = AF_UNSPEC;
export const PF_UNIX = AF_UNIX;
export const PF_INET = AF_INET;
export const PF_INET6 = AF_INET6;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
export const SOCK_DCCP = 6;
export const SOCK_PACKET = 10;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_CLOEXEC = O_CLOEXEC;
export const SOCK_NONBLOCK = O_NONBLOCK;
export const SOL_SOCKET = 1;
export const SO_DEBUG = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_OOBINLINE = 10;
export const SO_NO_CHECK = 11;
export const SO_PRIORITY = 12;
export const SO_LINGER = 13;
export const SO_BSDCOMPAT = 14;
export const SO_REUSEPORT = 15;
export const SO_PASSCRED = 16;
export const SO_PEERCRED = 17;
export const SO_RCVLOWAT = 18;
export const SO_SNDLOWAT = 19;
/** On x86-64 SO_RCVTIMEO is this value (struct timeval). */
export const SO_RCVTIMEO_OLD = 20;
export const SO_SNDTIMEO_OLD = 21;
export const SO_ACCEPTCONN = 30;
export const SO_PEERSEC = 31;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_PASSSEC = 34;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;
export const SO_PEERGROUPS = 59;
export const SO_PEERPIDFD = 77;
export const SCM_RIGHTS = 0x01;
export const SCM_CREDENTIALS = 0x02;
export const SCM_SECURITY = 0x03;
export const SCM_PIDFD = 0x04;
/** Max fds in one SCM_RIGHTS message (include/net/scm.h). */
export const SCM_MAX_FD = 253;
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_CTRUNC = 0x8;
export const MSG_PROBE = 0x10;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_FIN = 0x200;
export const MSG_SYN = 0x400;
export const MSG_CONFIRM = 0x800;
export const MSG_RST = 0x1000;
export const MSG_ERRQUEUE = 0x2000;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const MSG_WAITFORONE = 0x10000;
export const MSG_BATCH = 0x40000;
export const MSG_ZEROCOPY = 0x4000000;
export const MSG_FASTOPEN = 0x20000000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;
/** sizeof(sun_path) in struct sockaddr_un. */
export const UNIX_PATH_MAX = 108;
export const SOMAXCONN = 4096;

// ---- futex(2): <linux/futex.h> ----
export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;
export const FUTEX_FD = 2;
export const FUTEX_REQUEUE = 3;
export const FUTEX_CMP_REQUEUE = 4;
export const FUTEX_WAKE_OP = 5;
export const FUTEX_LOCK_PI = 6;
export const FUTEX_UNLOCK_PI = 7;
export const FUTEX_TRYLOCK_PI = 8;
export const FUTEX_WAIT_BITSET = 9;
export const FUTEX_WAKE_BITSET = 10;
export const FUTEX_WAIT_REQUEUE_PI = 11;
export const FUTEX_CMP_REQUEUE_PI = 12;
export const FUTEX_LOCK_PI2 = 13;
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;
/** `op & FUTEX_CMD_MASK` gives the command (a negative int32, as in C). */
export const FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
export const FUTEX_WAIT_PRIVATE = FUTEX_WAIT | FUTEX_PRIVATE_FLAG;
export const FUTEX_WAKE_PRIVATE = FUTEX_WAKE | FUTEX_PRIVATE_FLAG;
export const FUTEX_BITSET_MATCH_ANY = 0xffffffff;
/** Robust-futex word bits. */
export const FUTEX_WAITERS = 0x80000000;
export const FUTEX_OWNER_DIED = 0x40000000;
export const FUTEX_TID_MASK = 0x3fffffff;
export const ROBUST_LIST_LIMIT = 2048;
// FUTEX_WAKE_OP encoding
export const FUTEX_OP_SET = 0;
export const FUTEX_OP_ADD = 1;
export const FUTEX_OP_OR = 2;
export const FUTEX_OP_ANDN = 3;
export const FUTEX_OP_XOR = 4;
export const FUTEX_OP_OPARG_SHIFT = 8;
export const FUTEX_OP_CMP_EQ = 0;
export const FUTEX_OP_CMP_NE = 1;
export const FUTEX_OP_CMP_LT = 2;
export const FUTEX_OP_CMP_LE = 3;
export const FUTEX_OP_CMP_GT = 4;
export const FUTEX_OP_CMP_GE = 5;

// ---- ptrace(2): <linux/ptrace.h>, <asm/ptrace-abi.h> ----
export const PTRACE_TRACEME = 0;
export const PTRACE_PEEKTEXT = 1;
export const PTRACE_PEEKDATA = 2;
/** Kernel spelling; glibc calls it PTRACE_PEEKUSER. */
export const PTRACE_PEEKUSR = 3;
export const PTRACE_PEEKUSER = PTRACE_PEEKUSR;
export const PTRACE_POKETEXT = 4;
export const PTRACE_POKEDATA = 5;
/** Kernel spelling; glibc calls it PTRACE_POKEUSER. */
export const PTRACE_POKEUSR = 6;
export const PTRACE_POKEUSER = PTRACE_POKEUSR;
export const PTRACE_CONT = 7;
export const PTRACE_KILL = 8;
export const PTRACE_SINGLESTEP = 9;
export const PTRACE_GETREGS = 12;
export const PTRACE_SETREGS = 13;
export const PTRACE_GETFPREGS = 14;
export const PTRACE_SETFPREGS = 15;
export const PTRACE_ATTACH = 16;
export const PTRACE_DETACH = 17;
export const PTRACE_GETFPXREGS = 18;
export const PTRACE_SETFPXREGS = 19;
export const PTRACE_SYSCALL = 24;
export const PTRACE_GET_THREAD_AREA = 25;
export const PTRACE_SET_THREAD_AREA = 26;
export const PTRACE_ARCH_PRCTL = 30;
export const PTRACE_SYSEMU = 31;
export const PTRACE_SYSEMU_SINGLESTEP = 32;
export const PTRACE_SINGLEBLOCK = 33;
export const PTRACE_SETOPTIONS = 0x4200;
export const PTRACE_GETEVENTMSG = 0x4201;
export const PTRACE_GETSIGINFO = 0x4202;
export const PTRACE_SETSIGINFO = 0x4203;
export const PTRACE_GETREGSET = 0x4204;
export const PTRACE_SETREGSET = 0x4205;
export const PTRACE_SEIZE = 0x4206;
export const PTRACE_INTERRUPT = 0x4207;
export const PTRACE_LISTEN = 0x4208;
export const PTRACE_PEEKSIGINFO = 0x4209;
export const PTRACE_GETSIGMASK = 0x420a;
export const PTRACE_SETSIGMASK = 0x420b;
export const PTRACE_SECCOMP_GET_FILTER = 0x420c;
export const PTRACE_SECCOMP_GET_METADATA = 0x420d;
export const PTRACE_GET_SYSCALL_INFO = 0x420e;
export const PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;
// PTRACE_SETOPTIONS / PTRACE_SEIZE options
export const PTRACE_O_TRACESYSGOOD = 1;
export const PTRACE_O_TRACEFORK = 1 << 1;
export const PTRACE_O_TRACEVFORK = 1 << 2;
export const PTRACE_O_TRACECLONE = 1 << 3;
export const PTRACE_O_TRACEEXEC = 1 << 4;
export const PTRACE_O_TRACEVFORKDONE = 1 << 5;
export const PTRACE_O_TRACEEXIT = 1 << 6;
export const PTRACE_O_TRACESECCOMP = 1 << 7;
export const PTRACE_O_EXITKILL = 1 << 20;
export const PTRACE_O_SUSPEND_SECCOMP = 1 << 21;
export const PTRACE_O_MASK = 0x000000ff | PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP;
// Events: waitpid status is (SIGTRAP | event << 8) << 8 | 0x7f
export const PTRACE_EVENT_FORK = 1;
export const PTRACE_EVENT_VFORK = 2;
export const PTRACE_EVENT_CLONE = 3;
export const PTRACE_EVENT_EXEC = 4;
export const PTRACE_EVENT_VFORK_DONE = 5;
export const PTRACE_EVENT_EXIT = 6;
export const PTRACE_EVENT_SECCOMP = 7;
/** Group-stop or PTRACE_INTERRUPT stop of a SEIZEd tracee. */
export const PTRACE_EVENT_STOP = 128;
// Regset types for PTRACE_GETREGSET: <linux/elf.h>
export const NT_PRSTATUS = 1;
export const NT_PRFPREG = 2;
export const NT_X86_XSTATE = 0x202;

// ---- seccomp(2): <linux/seccomp.h> ----
export const SECCOMP_MODE_DISABLED = 0;
export const SECCOMP_MODE_STRICT = 1;
export const SECCOMP_MODE_FILTER = 2;
export const SECCOMP_SET_MODE_STRICT = 0;
export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_GET_ACTION_AVAIL = 2;
export const SECCOMP_GET_NOTIF_SIZES = 3;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

// ---- Scheduling: <linux/sched.h> ----
export const SCHED_NORMAL = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
export const SCHED_BATCH = 3;
export const SCHED_IDLE = 5;
export const SCHED_DEADLINE = 6;
export const SCHED_RESET_ON_FORK = 0x40000000;

// ---- Mount flags: <linux/mount.h> ----
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

// ---- Filesystem magic numbers (statfs f_type): <linux/magic.h> ----
export const TMPFS_MAGIC = 0x01021994;
export const PROC_SUPER_MAGIC = 0x9fa0;
export const SYSFS_MAGIC = 0x62656572;
export const DEVPTS_SUPER_MAGIC = 0x1cd1;
export const PIPEFS_MAGIC = 0x50495045;
export const SOCKFS_MAGIC = 0x534f434b;
export const ANON_INODE_FS_MAGIC = 0x09041934;
export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
export const V9FS_MAGIC = 0x01021997;

// ---- ELF: <elf.h> (for the loader; struct layouts are in layout.ts) ----
export const EI_NIDENT = 16;
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;
export const ELFOSABI_SYSV = 0;
export const ELFOSABI_GNU = 3;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_SHLIB = 5;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PT_GNU_PROPERTY = 0x6474e553;
export const PF_X = 0x1;
export const PF_W = 0x2;
export const PF_R = 0x4;
