/* sbx: the command-line client. (Skeleton; `run` lands with the executor.) */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "usage: sbx run [OPTIONS] [--] COMMAND [ARG...]\n");
    return 125;
}
