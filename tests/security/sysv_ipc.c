/* SysV IPC objects are found by key or guessed by id: a host (or another
 * job's) shared memory segment, message queue or semaphore set would be a
 * direct channel. `sysv_ipc create KEY` (on the host) makes one of each
 * with mode 0666 and prints their ids; `sysv_ipc remove KEY`; `sysv_ipc
 * find KEY` (in the job) looks for them by key, by id scan and in
 * /proc/sysvipc. */
#include "attack.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    key_t key = (key_t)strtol(argv[2], NULL, 0);
    if (strcmp(argv[1], "create") == 0) {
        int shm = shmget(key, 4096, IPC_CREAT | 0666);
        int msg = msgget(key, IPC_CREAT | 0666);
        int sem = semget(key, 1, IPC_CREAT | 0666);
        printf("%d %d %d\n", shm, msg, sem);
        return shm < 0 || msg < 0 || sem < 0;
    }
    if (strcmp(argv[1], "remove") == 0) {
        shmctl(shmget(key, 0, 0), IPC_RMID, NULL);
        msgctl(msgget(key, 0), IPC_RMID, NULL);
        semctl(semget(key, 0, 0), 0, IPC_RMID);
        return 0;
    }
    int r = shmget(key, 0, 0);
    attempt(r >= 0, "shmget(host key)", "%s", res(r));
    r = msgget(key, 0);
    attempt(r >= 0, "msgget(host key)", "%s", res(r));
    r = semget(key, 0, 0);
    attempt(r >= 0, "semget(host key)", "%s", res(r));
    int found = 0;
    struct shmid_ds sd;
    struct msqid_ds md;
    for (int id = 0; id < 1 << 16; id++) {
        found += shmctl(id, IPC_STAT, &sd) >= 0 || errno == EACCES;
        found += msgctl(id, IPC_STAT, &md) >= 0 || errno == EACCES;
    }
    attempt(found > 0, "IPC_STAT scan of ids 0..65535", "%d objects", found);
    const char *procs[] = {"/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(procs[i], "r");
        int lines = 0;
        char line[512];
        while (f && fgets(line, sizeof line, f))
            lines++;
        if (f)
            fclose(f);
        char what[64];
        snprintf(what, sizeof what, "list %s", procs[i]);
        attempt(lines > 1, what, "%d objects", lines > 0 ? lines - 1 : 0);
    }
    return done();
}
