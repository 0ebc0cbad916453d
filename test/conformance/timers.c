/* Timers: timer_create with a SIGEV_SIGNAL real-time signal, timerfd expirations, alarm. */
#include "conf.h"
#include <signal.h>
#include <time.h>
#include <sys/timerfd.h>
#include <stdint.h>
static volatile int n;
static void h(int s, siginfo_t *si, void *u){ (void)s; (void)u; if (si->si_code == SI_TIMER) n++; }
int main(){
  struct sigaction sa = {0}; sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO; sigaction(SIGRTMIN, &sa, 0);
  struct sigevent ev = {0}; ev.sigev_notify = SIGEV_SIGNAL; ev.sigev_signo = SIGRTMIN;
  timer_t id; printf("create %d\n", timer_create(CLOCK_MONOTONIC, &ev, &id));
  struct itimerspec its = {{0, 20000000}, {0, 20000000}};
  printf("settime %d\n", timer_settime(id, 0, &its, 0));
  while (n < 3) pause();
  printf("signals >= 3: %d\n", n >= 3);
  timer_delete(id);
  int fd = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec t2 = {{0, 10000000}, {0, 10000000}};
  timerfd_settime(fd, 0, &t2, 0);
  uint64_t c = 0; usleep(50000); read(fd, &c, 8);
  printf("timerfd expirations >= 3: %d\n", c >= 3);
  alarm(10); printf("alarm left: %u\n", alarm(0));
  return 0;
}
