# Drives an interactive shell through a pseudo-terminal (python's pty
# module: posix_openpt, fork, setsid, TIOCSCTTY) and prints what it saw as
# facts that do not depend on timing: run natively and inside the sandbox,
# the two outputs must match.
import os, pty, select, sys, time

pid, fd = pty.fork()
if pid == 0:
    os.environ['PS1'] = 'PROMPT> '
    os.execv('/bin/sh', ['/bin/sh', '-i'])

buf = b''


def expect(token, timeout=20):
    global buf
    end = time.time() + timeout
    while token.encode() not in buf:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            print('timeout waiting for', repr(token), 'after', repr(buf[-200:]))
            sys.exit(1)
        try:
            buf += os.read(fd, 4096)
        except OSError:
            print('EOF waiting for', repr(token))
            sys.exit(1)
    before, _, buf = buf.partition(token.encode())
    return before


def send(s):
    os.write(fd, s.encode())


expect('PROMPT> ')
send('test -t 0 && echo "is""atty"; tty | cut -c1-9\n')
out = expect('PROMPT> ')
print('isatty:', b'isatty' in out)
print('tty under /dev/pts:', b'/dev/pts/' in out)
send('stty -a | grep -o "icanon\\|-icanon" | head -1\n')
print('canonical:', expect('PROMPT> ').strip().splitlines()[-1].decode())
# ^C interrupts a foreground job; the shell survives and prompts again.
send('sleep 30; echo "after"" sleep"\n')
time.sleep(1)
send('\x03')
out = expect('PROMPT> ')
print('^C echoed:', b'^C' in out)
print('sleep finished normally:', b'after sleep' in out)
send('echo "status"=$?\n')
print(expect('PROMPT> ').strip().splitlines()[-1].decode())
# Line editing happens in the terminal: erase, kill.
send('echo abX\x7fc\n')
print('erase:', expect('PROMPT> ').strip().splitlines()[-1].decode())
send('echo junk\x15echo kept\n')
print('kill:', expect('PROMPT> ').strip().splitlines()[-1].decode())
send('exit 3\n')
_, status = os.waitpid(pid, 0)
print('shell exit:', os.waitstatus_to_exitcode(status))
