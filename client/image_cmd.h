/* sbx image: the image store's commands (import, ls, inspect, rm). */
#ifndef SBX_CLIENT_IMAGE_CMD_H
#define SBX_CLIENT_IMAGE_CMD_H

/* argv[0] is the first argument after "image". Returns the exit status: 0,
 * 1 when the store refused (one line on stderr says why), 2 on a usage
 * error. */
int sbx_image_main(int argc, char **argv);

#endif
