/* Memory: mmap/munmap/mprotect/brk/mremap/madvise, anonymous and file-backed,
 * MAP_FIXED, write then read back; faults checked in children through their
 * wait status (SIGSEGV on PROT_NONE/read-only, SIGBUS past EOF). */
#include "conf.h"
#include <sys/mman.h>

#define PG 4096L

static unsigned long checksum(const unsigned char *p, long n) {
  unsigned long s = 0;
  for (long i = 0; i < n; i++) s = s * 131 + p[i];
  return s;
}

static void fault_child(const char *label, volatile char *addr, int write) {
  pid_t pid = fork();
  if (pid == 0) {
    if (write) *addr = 1;
    else (void)*addr;
    _exit(0);
  }
  show_wait(label, pid);
}

#define MAPOK(m) ((m) != MAP_FAILED)
#define TM(label, expr)                                          \
  do {                                                           \
    errno = 0;                                                   \
    void *_m = (expr);                                           \
    if (_m == MAP_FAILED) printf("%s: MAP_FAILED %s\n", label, ename(errno)); \
    else printf("%s: ok\n", label);                              \
  } while (0)

int main(void) {
  tmp_enter();

  SECTION("anonymous");
  unsigned char *a = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TP("mmap anon 4 pages", MAPOK(a));
  TP("page aligned", ((uintptr_t)a & (PG - 1)) == 0);
  TP("zero filled", a[0] == 0 && a[4 * PG - 1] == 0 && checksum(a, 4 * PG) == 0);
  for (long i = 0; i < 4 * PG; i++) a[i] = (unsigned char)(i * 7);
  printf("checksum: %lx\n", checksum(a, 4 * PG));
  T(munmap(a + PG, PG));
  fault_child("read of munmapped page", (char *)a + PG, 0);
  printf("checksum of page 0 still: %lx\n", checksum(a, PG));
  T(munmap(a, 4 * PG));
  T(munmap(a, 4 * PG));

  SECTION("mprotect");
  a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  a[0] = 5;
  a[PG] = 6;
  T(mprotect(a, PG, PROT_READ));
  printf("read after PROT_READ: %d\n", a[0]);
  fault_child("write to PROT_READ page", (char *)a, 1);
  T(mprotect(a + PG, PG, PROT_NONE));
  fault_child("read of PROT_NONE page", (char *)a + PG, 0);
  fault_child("write to PROT_NONE page", (char *)a + PG, 1);
  T(mprotect(a + PG, PG, PROT_READ | PROT_WRITE));
  printf("data kept across PROT_NONE: %d\n", a[PG]);
  T(mprotect(a + 1, PG, PROT_READ));
  T(mprotect(a, PG, 0x1000));
  T(munmap(a, 2 * PG));
  char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fault_child("write to PROT_READ mapping", ro, 1);
  munmap(ro, PG);
  char *none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  fault_child("read of PROT_NONE mapping", none, 0);
  munmap(none, PG);

  SECTION("MAP_FIXED");
  char *res = mmap(NULL, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *mid = mmap(res + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  TP("MAP_FIXED at requested address", mid == res + PG);
  strcpy(mid, "fixed");
  printf("read back: %s\n", mid);
  fault_child("read of PROT_NONE neighbour", res, 0);
  char *mid2 = mmap(res + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  TP("MAP_FIXED replaces (zeroed)", mid2 == res + PG && mid2[0] == 0);
  TM("MAP_FIXED unaligned", mmap(res + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  char *nr = mmap(res + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("MAP_FIXED_NOREPLACE over a mapping: %s\n", nr == MAP_FAILED ? ename(errno) : "ok");
  munmap(res, 3 * PG);

  SECTION("file-backed");
  int fd = open("m", O_RDWR | O_CREAT, 0644);
  char content[PG + 100];
  for (unsigned i = 0; i < sizeof content; i++) content[i] = 'A' + i % 26;
  write(fd, content, sizeof content);
  char *f = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, 0);
  TP("mmap file shared", MAPOK(f));
  TP("contents match", memcmp(f, content, sizeof content) == 0);
  TP("tail of last page zero", f[sizeof content] == 0 && f[2 * PG - 1] == 0);
  munmap(f, 2 * PG);
  f = mmap(NULL, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
  fault_child("read of page wholly past EOF (SIGBUS)", f + 2 * PG, 0);
  munmap(f, 3 * PG);
  char buf[16] = {0};
  f = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memcpy(f, "private", 7);
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 7, 0);
  printf("private write not in file: %s\n", buf);
  printf("private mapping: %.7s\n", f);
  munmap(f, PG);
  TM("mmap offset unaligned", mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 1));
  close(fd);
  fd = open("m", O_RDONLY);
  TM("MAP_SHARED|PROT_WRITE on O_RDONLY fd", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  TM("MAP_PRIVATE|PROT_WRITE on O_RDONLY fd", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  close(fd);
  fd = open("m", O_WRONLY);
  TM("mmap of O_WRONLY fd", mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0));
  close(fd);
  fd = open("/bin/true", O_RDONLY);
  f = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("host file mapping starts with: %.3s\n", f + 1);
  munmap(f, PG);
  close(fd);

  SECTION("mmap errors");
  TM("len 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  TM("neither shared nor private", mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
  TM("bad fd", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, -1, 0));
  TM("fd 9999", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 9999, 0));
  int d = open(".", O_RDONLY | O_DIRECTORY);
  TM("directory fd", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, d, 0));
  close(d);
  TM("huge len", mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  T(munmap((void *)PG, 0));
  T(munmap((void *)(PG + 1), PG));

  SECTION("brk");
  char *b0 = (char *)syscall(SYS_brk, 0);
  char *b1 = (char *)syscall(SYS_brk, b0 + 8 * PG);
  TP("brk grows", b1 == b0 + 8 * PG);
  memset(b0, 0x5a, 8 * PG);
  printf("brk memory checksum: %lx\n", checksum((unsigned char *)b0, 8 * PG));
  char *b2 = (char *)syscall(SYS_brk, b0 + 2 * PG);
  TP("brk shrinks", b2 == b0 + 2 * PG);
  char *b3 = (char *)syscall(SYS_brk, b0 + 4 * PG);
  TP("regrown brk", b3 == b0 + 4 * PG);
  printf("kept below: %x, zero above: %d\n", (unsigned char)b0[PG], b0[3 * PG]);
  char *b4 = (char *)syscall(SYS_brk, 1);
  TP("brk(1) fails, returns current", b4 == b3);
  syscall(SYS_brk, b0);

  SECTION("mremap");
  a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(a, 0x11, 2 * PG);
  unsigned char *g = mremap(a, 2 * PG, 8 * PG, MREMAP_MAYMOVE);
  TP("mremap grow", g != MAP_FAILED);
  printf("preserved: %lx, new zero: %d\n", checksum(g, 2 * PG), g[8 * PG - 1]);
  g[8 * PG - 1] = 9;
  unsigned char *s = mremap(g, 8 * PG, PG, 0);
  TP("mremap shrink in place", s == g);
  fault_child("read of page released by shrink", (char *)g + 2 * PG, 0);
  void *e;
  /* g+PG..g+8PG are free now; fence them so an in-place grow must fail. */
  char *fence = mmap((char *)g + PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  TP("fence mapped right after", fence == (char *)g + PG);
  e = mremap(g, PG, 4 * PG, 0);
  printf("grow without MAYMOVE into a mapped neighbour: %s\n", e == MAP_FAILED ? ename(errno) : "ok?");
  e = mremap(g + 1, PG, 2 * PG, MREMAP_MAYMOVE);
  printf("mremap unaligned: %s\n", e == MAP_FAILED ? ename(errno) : "ok");
  e = mremap(g, PG, 2 * PG, 0x100);
  printf("mremap bad flags: %s\n", e == MAP_FAILED ? ename(errno) : "ok");
  e = mremap(g, PG, 3 * PG, MREMAP_MAYMOVE);
  TP("grow with MAYMOVE past a neighbour", e != MAP_FAILED && e != (void *)g);
  printf("moved data: %d\n", ((unsigned char *)e)[0]);
  munmap(e, 3 * PG);
  munmap(fence, PG);

  SECTION("madvise");
  a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(a, 0x77, 2 * PG);
  T(madvise(a, PG, MADV_DONTNEED));
  printf("after DONTNEED: %d %d\n", a[0], a[PG]);
  T(madvise(a, 2 * PG, MADV_WILLNEED));
  T(madvise(a, 2 * PG, MADV_NORMAL));
  T(madvise(a, 2 * PG, MADV_SEQUENTIAL));
  T(madvise(a + 1, PG, MADV_NORMAL));
  T(madvise(a, PG, 12345));
  T(madvise(a, 0, MADV_NORMAL));
  munmap(a, 2 * PG);

  tmp_leave();
  return 0;
}
