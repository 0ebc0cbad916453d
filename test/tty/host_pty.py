# Runs `RUNSC do /bin/bash -i` on a pseudo-terminal made here (the host's),
# as a user at a terminal would, and prints what the sandboxed shell saw.
# Usage: host_pty.py RUNSC [ARGS...]
import fcntl, os, pty, re, select, signal, struct, sys, termios, time

pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 33, 77, 0, 0))
    os.environ['PS1'] = 'PROMPT> '
    shell = ['/bin/bash', '--norc', '--noprofile', '-i']
    # --native: the same session without a sandbox, for comparison.
    os.execv(shell[0], shell) if sys.argv[1] == '--native' else os.execv(sys.argv[1], sys.argv[1:] + ['do'] + shell)

buf = b''


def expect(token, timeout=30):
    global buf
    end = time.time() + timeout
    while token.encode() not in buf:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            print('timeout waiting for', repr(token), 'after', repr(buf[-300:]))
            os.kill(pid, signal.SIGKILL)
            sys.exit(1)
        try:
            buf += os.read(fd, 4096)
        except OSError:
            print('EOF waiting for', repr(token), 'after', repr(buf[-300:]))
            sys.exit(1)
    before, _, buf = buf.partition(token.encode())
    return before


def last_line(out):
    lines = out.replace(b'\x1b[?2004l', b'').replace(b'\x1b[?2004h', b'').strip().splitlines()
    # bash reports the job killed below whenever it next looks: that notice may land in any later output.
    lines = [l for l in lines if not re.match(rb'\[\d+\][+-]? +Killed +cat', l)]
    return lines[-1].decode() if lines else ''


def run(cmd):
    """Runs cmd at the prompt; returns the last line it printed."""
    os.write(fd, (cmd + '; echo "END""MARK"\n').encode())
    expect('\n')  # the echoed command line
    return last_line(b'\n' + expect('ENDMARK\r\n'))


expect('PROMPT> ')
print('isatty:', run('test -t 0 && test -t 1 && echo "y""es"'))
print('size:', run('stty size'))
# bash enables job control only if it is in the terminal's foreground group.
print('job control:', run('[[ $- == *m* ]] && echo o""n'))
print('console:', run('echo to-console >/dev/console && echo w""rote'))
print('dev tty:', run('echo to-tty >/dev/tty && echo w""rote'))
# ^C goes to the foreground job, not to the shell.
os.write(fd, b'sleep 30; echo "after"" sleep"\n')
time.sleep(1.5)
os.write(fd, b'\x03')
out = expect('PROMPT> ')
print('sleep interrupted:', b'after sleep' not in out)
print('status:', run('echo $?'))
# ^Z stops the foreground job; the shell takes the terminal back, and fg returns it.
os.write(fd, b'sleep 30\n')
time.sleep(1.5)
os.write(fd, b'\x1a')
expect('PROMPT> ')
print('after ^Z:', run('jobs'))
os.write(fd, b'fg\n')
time.sleep(1)
os.write(fd, b'\x03')
expect('PROMPT> ')
print('after fg and ^C:', run('jobs; echo "no jobs"'))
# A background job that reads the terminal is stopped (SIGTTIN).
os.write(fd, b'cat &\n')
time.sleep(1)
print('background reader:', run('sleep 0.5; jobs'))
# Out of the job table first: bash reports a killed job whenever it next looks, which races the output below.
run('kill -9 %1')
# A window change reaches the foreground process group (the shell, at its prompt) as SIGWINCH.
run("rm -f /tmp/.winch.$$; trap 'echo got > /tmp/.winch.$$' WINCH")
# Not before the prompt: readline reads the window size and writes it back (TIOCGWINSZ, then
# TIOCSWINSZ) before it prints one, and a resize between the two would be undone.
expect('PROMPT> ')
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 100, 0, 0))
time.sleep(1)
print('winch:', run('cat /tmp/.winch.$$; rm -f /tmp/.winch.$$'))
print('new size:', run('stty size'))
# Input typed while a job reads the terminal reaches it.
os.write(fd, b'read -r line; echo "got:$line"; echo "END""MARK"\n')
time.sleep(0.5)
os.write(fd, b'typed text\n')
print('read:', b'got:typed text' in expect('ENDMARK\r\n'))
os.write(fd, b'exit 5\n')
_, status = os.waitpid(pid, 0)
print('runsc exit:', os.waitstatus_to_exitcode(status))
