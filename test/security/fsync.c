// Writes argv[2] to the file argv[1], fsyncs it, says "synced", and waits to
// be killed: the test kills the Sentry then and looks for the data on the host.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, argv[2], strlen(argv[2])) != (ssize_t)strlen(argv[2]) || fsync(fd)) { perror("write"); return 1; }
  printf("synced\n");
  fflush(stdout);
  for (;;) pause();
}
