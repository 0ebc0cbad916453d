#!/usr/bin/env python3
"""Idle cost of a sandbox whose workload waits for terminal input.

    python3 bench/idle_tty.py [--seconds S] RUNSC_COMMAND...

Each RUNSC_COMMAND (e.g. "bin/runsc" or "/usr/bin/runsc --platform=ptrace
--network=none") runs `do python3 -c "...select([stdin])..."` in a new
session on a pseudo-terminal made here. Once the workload says it is waiting,
the CPU time and context switches of every process of that session (the
sandbox's CLI, Sentry, stubs, Gofer) are summed from /proc over S seconds
(default 5) of idleness. Prints one line per command.
"""
import os
import pty
import select
import shlex
import sys
import time

WORKLOAD = 'import select,sys; print("waiting", flush=True); select.select([sys.stdin],[],[])'


def session_stats(sid):
    cpu_ns = switches = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if int(fields[3]) != sid:  # field 6, session
                continue
            for tid in os.listdir(f'/proc/{pid}/task'):
                with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                    run, _, slices = f.read().split()
                cpu_ns += int(run)
                switches += int(slices)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return cpu_ns, switches


def measure(cmd, seconds):
    argv = shlex.split(cmd) + ['do', '/usr/bin/python3', '-c', WORKLOAD]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = b''
    deadline = time.time() + 60
    while b'waiting' not in out:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not r:
            raise SystemExit(f'{cmd}: the workload did not start: {out!r}')
        out += os.read(fd, 4096)
    time.sleep(1)
    cpu0, sw0 = session_stats(pid)
    time.sleep(seconds)
    cpu1, sw1 = session_stats(pid)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    os.close(fd)
    return (cpu1 - cpu0) / 1e3 / seconds, (sw1 - sw0) / seconds


def main():
    args = sys.argv[1:]
    seconds = 5.0
    if args[:1] == ['--seconds']:
        seconds = float(args[1])
        args = args[2:]
    for cmd in args or ['bin/runsc']:
        us, sw = measure(cmd, seconds)
        print(f'{cmd}: {us:.0f} µs CPU and {sw:.1f} context switches per second idle')


main()
