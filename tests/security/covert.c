/* Covert channels between two jobs running at the same time (two
 * submissions of one contest, say): `covert send CHANNEL` (job A) plants a
 * token through CHANNEL, prints READY and waits; `covert recv CHANNEL` (job
 * B) looks for it and prints LEAK or BLOCKED. Channels: keyring, vsock,
 * flock, ofd (open file description locks), posix (fcntl record locks),
 * inotify (A opens the shared file, B watches it for IN_OPEN),
 * io_uring, shm (/dev/shm), tmp (/tmp), abstract (UNIX socket), sysv,
 * filenr (a host-wide counter: A opens and closes 800 files in turns of
 * 300 ms, B watches /proc/sys/fs/file-nr follow the pattern).
 * The lock channels use /shared/file, a read-only bind of one host file
 * into both jobs. */
#include "attack.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <stddef.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#define TOKEN "sbx-covert-token-4711"
#define KEY 0x5b5c0de
#define AF_VSOCK_ 40
struct sockaddr_vm_ {
    unsigned short svm_family, svm_reserved1;
    unsigned int svm_port, svm_cid;
    unsigned char svm_zero[4];
};

static socklen_t abstract(struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, TOKEN, strlen(TOKEN));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(TOKEN));
}

#define FILENR_FILES 800

static long file_nr(void)
{
    char buf[128];
    int fd = open("/proc/sys/fs/file-nr", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return atol(buf);
}

/* The sender's side of filenr: a square wave of open files, for ever. */
static void filenr_wave(void)
{
    static int fds[FILENR_FILES];
    printf("SENT filenr: %ld now\nREADY\n", file_nr());
    fflush(stdout);
    for (;;) {
        for (int i = 0; i < FILENR_FILES; i++)
            fds[i] = open("/dev/null", O_RDONLY);
        usleep(300000);
        for (int i = 0; i < FILENR_FILES; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        usleep(300000);
    }
}

/* The receiver's side: 40 samples 50 ms apart; the wave shows as a swing of
 * most of FILENR_FILES between the highest and lowest values. */
static long filenr_swing(void)
{
    long lo = -1, hi = -1;
    for (int i = 0; i < 40; i++) {
        long v = file_nr();
        if (v < 0)
            return -1;
        lo = lo < 0 || v < lo ? v : lo;
        hi = v > hi ? v : hi;
        usleep(50000);
    }
    printf("INFO file-nr between %ld and %ld\n", lo, hi);
    return hi - lo;
}

static int send_token(const char *ch)
{
    if (strcmp(ch, "filenr") == 0)
        filenr_wave();
    long r = -1;
    int fd = -1;
    if (strcmp(ch, "keyring") == 0) {
        r = syscall(SYS_add_key, "user", TOKEN, TOKEN, strlen(TOKEN), -4 /* user keyring */);
    } else if (strcmp(ch, "vsock") == 0) {
        struct sockaddr_vm_ a = {.svm_family = AF_VSOCK_, .svm_port = 4711, .svm_cid = 1};
        fd = socket(AF_VSOCK_, SOCK_STREAM, 0);
        r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof a) == 0 ? listen(fd, 1) : -1;
    } else if (strcmp(ch, "flock") == 0) {
        fd = open("/shared/file", O_RDONLY);
        r = fd < 0 ? -1 : flock(fd, LOCK_EX);
    } else if (strcmp(ch, "ofd") == 0 || strcmp(ch, "posix") == 0) {
        fd = open("/shared/file", O_RDONLY);
        struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
        r = fd < 0 ? -1 : fcntl(fd, ch[0] == 'o' ? F_OFD_SETLK : F_SETLK, &l);
    } else if (strcmp(ch, "io_uring") == 0) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        r = syscall(SYS_io_uring_setup, 4, &p);
    } else if (strcmp(ch, "inotify") == 0) {
        printf("SENT inotify: opening /shared/file every 10 ms\nREADY\n");
        fflush(stdout);
        for (int i = 0; i < 3000; i++) {
            fd = open("/shared/file", O_RDONLY);
            if (fd >= 0)
                close(fd);
            usleep(10000);
        }
        return 0;
    } else if (strcmp(ch, "shm") == 0 || strcmp(ch, "tmp") == 0) {
        fd = open(ch[0] == 's' ? "/dev/shm/" TOKEN : "/tmp/" TOKEN, O_WRONLY | O_CREAT, 0666);
        r = fd;
    } else if (strcmp(ch, "abstract") == 0) {
        struct sockaddr_un a;
        socklen_t l = abstract(&a);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, l) == 0 ? listen(fd, 1) : -1;
    } else if (strcmp(ch, "sysv") == 0) {
        r = shmget(KEY, 4096, IPC_CREAT | 0666);
    } else {
        return 2;
    }
    printf("SENT %s: %s\nREADY\n", ch, res(r));
    fflush(stdout);
    sleep(30);
    return 0;
}

static int recv_token(const char *ch)
{
    long r = -1;
    int fd;
    if (strcmp(ch, "keyring") == 0) {
        r = syscall(SYS_request_key, "user", TOKEN, NULL, 0);
    } else if (strcmp(ch, "vsock") == 0) {
        struct sockaddr_vm_ a = {.svm_family = AF_VSOCK_, .svm_port = 4711, .svm_cid = 1};
        fd = socket(AF_VSOCK_, SOCK_STREAM, 0);
        r = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&a, sizeof a);
    } else if (strcmp(ch, "flock") == 0) {
        fd = open("/shared/file", O_RDONLY);
        /* EWOULDBLOCK means A's lock is visible: one bit crossed. */
        r = fd < 0 ? 0 : flock(fd, LOCK_EX | LOCK_NB);
        r = r < 0 && errno == EWOULDBLOCK ? 0 : -1;
    } else if (strcmp(ch, "ofd") == 0 || strcmp(ch, "posix") == 0) {
        fd = open("/shared/file", O_RDONLY);
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        r = fd < 0 ? -1 : fcntl(fd, ch[0] == 'o' ? F_OFD_GETLK : F_GETLK, &l);
        r = r == 0 && l.l_type != F_UNLCK ? 0 : -1;
    } else if (strcmp(ch, "io_uring") == 0) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        r = syscall(SYS_io_uring_setup, 4, &p);
        printf("INFO io_uring in B: %s\n", res(r));
        r = -1; /* a ring is private to its creator: the channel is its absence in A */
    } else if (strcmp(ch, "inotify") == 0) {
        int in = inotify_init1(IN_CLOEXEC);
        r = in < 0 ? -1 : inotify_add_watch(in, "/shared/file", IN_OPEN | IN_ACCESS);
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (r >= 0)
            r = poll(&p, 1, 1000) == 1 ? 0 : -1;
    } else if (strcmp(ch, "shm") == 0 || strcmp(ch, "tmp") == 0) {
        r = access(ch[0] == 's' ? "/dev/shm/" TOKEN : "/tmp/" TOKEN, F_OK);
    } else if (strcmp(ch, "abstract") == 0) {
        struct sockaddr_un a;
        socklen_t l = abstract(&a);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        r = connect(fd, (struct sockaddr *)&a, l);
    } else if (strcmp(ch, "sysv") == 0) {
        r = shmget(KEY, 0, 0);
    } else if (strcmp(ch, "filenr") == 0) {
        long swing = filenr_swing();
        r = swing >= FILENR_FILES * 3 / 4 ? 0 : -1;
        errno = swing < 0 ? EACCES : EAGAIN;
    } else {
        return 2;
    }
    if (r >= 0)
        printf("LEAK %s\n", ch);
    else
        printf("BLOCKED %s: %s\n", ch, res(r));
    return r >= 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    return strcmp(argv[1], "send") == 0 ? send_token(argv[2]) : recv_token(argv[2]);
}
