/* `sbx doctor`: whether this host can run jobs, and how well. Each check is
 * one line with a verdict (ok / warn / FAIL) and, where something is wrong,
 * the fix. Probes run in forked children (new namespaces, detached mounts)
 * and leave nothing behind. */
#ifndef SBX_CLIENT_DOCTOR_H
#define SBX_CLIENT_DOCTOR_H

/* argv[0] is "doctor". Returns the exit status: 0 when jobs can run, 1 when
 * they cannot, 125 for a bad flag. */
int sbx_doctor_main(int argc, char **argv);

extern const char sbx_doctor_usage[];

#endif
