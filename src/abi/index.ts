// src/abi: the Linux x86-64 ABI as data, shared by every component.
//
//   errno.ts   errno values, errnoName(), kernel-internal restart codes (ERESTARTSYS...)
//   sysno.ts   SYS.<name> syscall numbers and SYSCALL_NAMES[nr] (0..462)
//   linux.ts   uapi constants grouped by header (O_*, AT_*, CLONE_*, SIG*, PTRACE_*, AUXV_AT_*...)
//   layout.ts  Struct helper and every struct layout exchanged with the workload
//
// Pure data and pure functions: no I/O, no FFI, no imports outside this folder.
// Every value is checked against the C headers by test/abi.test.ts; add a
// constant or struct here, and the probe checks it (or the test tells you to
// add it to a reasoned allowlist).
//
// This barrel re-exports everything; `tsc` rejects a name exported by two
// modules, so the four namespaces stay disjoint.
export * from './errno';
export * from './sysno';
export * from './linux';
export * from './layout';
