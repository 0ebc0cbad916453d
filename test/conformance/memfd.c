/* memfd_create: flags, the name in /proc/self/fd, sharing through MAP_SHARED
 * across fork, private mappings, and seals (F_ADD_SEALS/F_GET_SEALS). */
#include "conf.h"
#include <sys/mman.h>

#define PG 4096L

static void show_link(int fd) {
  char p[64], buf[256];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(p, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("link: %s\n", buf);
}

int main(void) {
  SECTION("create");
  int fd = memfd_create("conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  TP("memfd_create", fd >= 0);
  T(fcntl(fd, F_GETFD));
  T(fcntl(fd, F_GETFL) & O_ACCMODE);
  show_link(fd);
  struct stat st;
  T(fstat(fd, &st));
  printf("regular %d size %ld\n", S_ISREG(st.st_mode), (long)st.st_size);
  T(syscall(SYS_memfd_create, "x", 0x100));
  char longname[300];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  T(syscall(SYS_memfd_create, longname, 0));
  T(syscall(SYS_memfd_create, (char *)1, 0));

  SECTION("shared across fork");
  T(ftruncate(fd, 2 * PG));
  char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  TP("mmap shared", m != MAP_FAILED);
  pid_t pid = fork();
  if (pid == 0) {
    char *c = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(c + PG, "from the child's own mapping");
    strcpy(m, "through the inherited mapping");
    _exit(0);
  }
  show_wait("child", pid);
  printf("parent sees: %s / %s\n", m, m + PG);
  char buf[64] = {0};
  pread(fd, buf, 28, PG);
  printf("pread sees: %s\n", buf);
  T(pwrite(fd, "PWRITE", 6, 0));
  printf("mapping sees: %.6s\n", m);
  char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memcpy(p, "private", 7);
  pread(fd, buf, 7, 0);
  printf("private store stays private: %.7s / %.7s\n", buf, p);
  munmap(p, PG);
  munmap(m, 2 * PG);

  SECTION("seals");
  T(fcntl(fd, F_GET_SEALS));
  T(fcntl(fd, F_ADD_SEALS, 0x1000));
  T(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
  T(ftruncate(fd, PG));
  T(ftruncate(fd, 3 * PG));
  T(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
  T(ftruncate(fd, 4 * PG));
  T(pwrite(fd, "x", 1, 3 * PG));
  T(pwrite(fd, "inside", 6, 0));
  T(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  T(fcntl(fd, F_GET_SEALS));
  T(pwrite(fd, "x", 1, 0));
  TP("shared writable mmap refused", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
  printf("errno %s\n", ename(errno));
  char *ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
  TP("shared read-only mmap", ro != MAP_FAILED);
  printf("reads: %.6s\n", ro);
  T(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
  T(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));

  SECTION("without sealing");
  int fd2 = memfd_create("plain", 0);
  T(fcntl(fd2, F_GETFD));
  T(fcntl(fd2, F_GET_SEALS));
  T(fcntl(fd2, F_ADD_SEALS, F_SEAL_WRITE));
  T(write(fd2, "abc", 3));
  T(lseek(fd2, 0, SEEK_SET));
  T(read(fd2, buf, sizeof buf));
  int pfd[2];
  pipe(pfd);
  T(fcntl(pfd[0], F_GET_SEALS));
  return 0;
}
