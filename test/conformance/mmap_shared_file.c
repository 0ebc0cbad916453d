/* Shared file mappings stay coherent with the file: a store through a
 * MAP_SHARED mapping is what read() sees, and a write() is what the mapping
 * sees. */
#include "conf.h"
#include <sys/mman.h>

#define PG 4096L
#define MAPOK(m) ((m) != MAP_FAILED)

int main(void) {
  tmp_enter();
  int fd = open("m", O_RDWR | O_CREAT, 0644);
  char content[PG + 100];
  for (unsigned i = 0; i < sizeof content; i++) content[i] = 'A' + i % 26;
  write(fd, content, sizeof content);
  char *f = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
  TP("mmap at offset PG", MAPOK(f));
  if (!MAPOK(f)) return 0;
  printf("first byte at offset PG: %c\n", f[0]);
  memcpy(f, "SHARED", 6);
  T(msync(f, PG, MS_SYNC));
  char buf[16] = {0};
  pread(fd, buf, 6, PG);
  printf("pread sees shared write: %s\n", buf);
  pwrite(fd, "written", 7, PG + 10);
  printf("mapping sees pwrite: %.7s\n", f + 10);
  munmap(f, PG);
  close(fd);
  tmp_leave();
  return 0;
}
