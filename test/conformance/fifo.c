/* FIFOs (fifo(7)): open without O_NONBLOCK waits for the other end, a
 * non-blocking writer with no reader is ENXIO, O_RDWR never waits, a waiting
 * open is interrupted by a signal, and data and EOF pass as through a pipe. */
#include "conf.h"

static void on_alarm(int sig) { (void)sig; }

int main(void) {
  char buf[64];
  tmp_enter();
  T(mkfifo("f", 0600));

  SECTION("non-blocking opens");
  T(open("f", O_WRONLY | O_NONBLOCK));
  int r = open("f", O_RDONLY | O_NONBLOCK);
  TL("reader, O_NONBLOCK, no writer", r >= 0);
  int w = open("f", O_WRONLY | O_NONBLOCK);
  TL("writer, O_NONBLOCK, with a reader", w >= 0);
  T(write(w, "abc", 3));
  T(read(r, buf, sizeof buf));
  T(close(w));
  T(read(r, buf, sizeof buf));
  T(close(r));

  SECTION("O_RDWR never waits");
  int rw = open("f", O_RDWR);
  TL("O_RDWR", rw >= 0);
  T(write(rw, "self", 4));
  T(read(rw, buf, sizeof buf));
  T(close(rw));

  SECTION("a blocking writer waits for a reader");
  pid_t c = fork();
  if (c == 0) {
    int fd = open("f", O_WRONLY);
    if (fd < 0) _exit(1);
    if (write(fd, "from the writer", 15) != 15) _exit(2);
    _exit(0);
  }
  usleep(100 * 1000);
  r = open("f", O_RDONLY);
  TL("reader opened", r >= 0);
  long n = read(r, buf, sizeof buf);
  printf("read: %.*s\n", (int)(n > 0 ? n : 0), buf);
  show_wait("writer", c);
  T(read(r, buf, sizeof buf));
  T(close(r));

  SECTION("a blocking reader waits for a writer");
  c = fork();
  if (c == 0) {
    int fd = open("f", O_RDONLY);
    if (fd < 0) _exit(1);
    long k = read(fd, buf, sizeof buf);
    _exit(k == 2 && memcmp(buf, "hi", 2) == 0 ? 0 : 3);
  }
  usleep(100 * 1000);
  w = open("f", O_WRONLY);
  TL("writer opened", w >= 0);
  T(write(w, "hi", 2));
  T(close(w));
  show_wait("reader", c);

  SECTION("a signal interrupts a waiting open");
  struct sigaction sa = { .sa_handler = on_alarm };
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  T(open("f", O_RDONLY));
  alarm(0);

  tmp_leave();
  return 0;
}
