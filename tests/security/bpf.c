/* bpf(2): the verifier is one of the richest sources of kernel privilege
 * escalations (CVE-2021-3490, CVE-2022-23222, ...). */
#include "attack.h"

#include <linux/bpf.h>
#include <sys/syscall.h>

int main(void)
{
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = 1;
    long r = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a);
    attempt(r >= 0, "bpf(BPF_MAP_CREATE)", "%s", res(r));
    struct bpf_insn prog[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
                              {.code = BPF_JMP | BPF_EXIT}};
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (unsigned long)prog;
    a.insn_cnt = 2;
    a.license = (unsigned long)"GPL";
    r = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
    attempt(r >= 0, "bpf(BPF_PROG_LOAD, socket filter)", "%s", res(r));
    return done();
}
