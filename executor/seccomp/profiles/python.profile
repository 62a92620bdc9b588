# Untrusted Python scripts: the built-in default profile, tightened.
#
#   sbx run --seccomp executor/seccomp/profiles/python.profile -- python3 script.py
#
# Python itself needs threads, subprocesses and most of the file system
# calls, so this starts from `default` rather than `strict`.
include default

# No sockets but local ones. The network namespace is empty anyway; killing
# makes an attempt show up as SECCOMP_VIOLATION instead of a quiet error.
# AF_UNIX is 1 (0 is not a family). This replaces the built-in's AF_VSOCK
# rule, which it covers.
kill socket arg0 > 1
