/* sbx: the command-line client. (Skeleton; `run` lands with the executor.) */
#include <stdio.h>
#include <string.h>

#include "doctor.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "doctor") == 0)
        return sbx_doctor_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: sbx run [OPTIONS] [--] COMMAND [ARG...]\n"
                    "       sbx doctor [--json]\n");
    return 125;
}
