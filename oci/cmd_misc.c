/* features and spec: what sbx-oci supports, and a config.json to start from. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int oci_cmd_features(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    if (argc != 1)
        return sbx_err_set(err, EINVAL, "features: takes no arguments"), 1;
    json_t *o = json_pack(
        "{s:s, s:s, s:[s,s,s,s], s:[s,s,s,s,s,s,s,s], s:{s:[s,s,s,s,s,s,s], s:[], "
        "s:{s:b, s:b, s:b, s:b}, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:b}}, s:{s:s}}",
        "ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION, "hooks",
        "prestart", "createRuntime", "poststart", "poststop",
        "mountOptions", "bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "size",
        "linux", "namespaces", "pid", "ipc", "uts", "mount", "network", "user", "cgroup",
        "capabilities", "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0,
        "seccomp", "enabled", 1, "apparmor", "enabled", 0, "selinux", "enabled", 0,
        "intelRdt", "enabled", 0, "annotations", "org.sbx.oci.guarantees",
        "new user namespace, no host network unless the operator allows it, capabilities only within the operator's "
        "allow-list and the container's user namespace, no_new_privs, seccomp, "
        "Landlock, tmpfs-backed writable root");
    if (!o)
        return sbx_err_set(err, ENOMEM, "features: building the JSON"), 1;
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    printf("%s\n", text ? text : "{}");
    free(text);
    return 0;
}

static const char default_spec[] =
    "{\n"
    "  \"ociVersion\": \"" OCI_VERSION "\",\n"
    "  \"process\": {\n"
    "    \"terminal\": false,\n"
    "    \"user\": {\"uid\": 0, \"gid\": 0},\n"
    "    \"args\": [\"sh\"],\n"
    "    \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\n"
    "    \"cwd\": \"/\",\n"
    "    \"noNewPrivileges\": true\n"
    "  },\n"
    "  \"root\": {\"path\": \"rootfs\", \"readonly\": false},\n"
    "  \"hostname\": \"sbx\",\n"
    "  \"mounts\": [\n"
    "    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
    "    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}\n"
    "  ],\n"
    "  \"linux\": {\n"
    "    \"namespaces\": [\n"
    "      {\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},\n"
    "      {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"user\"}, {\"type\": \"cgroup\"}\n"
    "    ]\n"
    "  }\n"
    "}\n";

int oci_cmd_spec(const struct oci_globals *g, int argc, char **argv, struct sbx_err *err)
{
    const char *bundle = ".";
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r = oci_opt_value(argc, argv, &i, "--bundle", &v, err);
        if (r == 0)
            r = oci_opt_value(argc, argv, &i, "-b", &v, err);
        if (r < 0)
            return 1;
        if (r == 0)
            return sbx_err_set(err, EINVAL, "spec: unknown argument %s", argv[i]), 1;
        bundle = v;
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
        return sbx_err_set(err, ENAMETOOLONG, "--bundle: path too long"), 1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return (errno == EEXIST ? sbx_err_set(err, EEXIST, "File %s exists. Remove it first", path)
                                : sbx_err_sys(err, errno, "%s", path)),
               1;
    ssize_t n = write(fd, default_spec, sizeof default_spec - 1);
    int e = errno;
    close(fd);
    if (n != (ssize_t)sizeof default_spec - 1)
        return sbx_err_sys(err, e, "writing %s", path), 1;
    return 0;
}
