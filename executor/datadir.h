/* Where sbx's own files are: the bundled rootfs and the shipped seccomp
 * profiles. An installed sbx (make install) has them in PREFIX/lib/sbx,
 * found next to its own binary (PREFIX/bin/sbx), so a DESTDIR or a moved
 * prefix works as well; a binary in the build tree uses the build's rootfs
 * and the source tree's profiles. */
#pragma once

/* PREFIX/lib/sbx when the running program is installed there (it holds a
 * rootfs/), else NULL. Looked up once. */
const char *sbx_install_dir(void);

/* The directory of the shipped seccomp profiles (NAME.profile). */
const char *sbx_profile_dir(void);
