/* The store's directories, lock and image records, shared by import.c,
 * store.c and apply.c; not an interface of its own. */
#ifndef SBX_IMAGE_STORE_H
#define SBX_IMAGE_STORE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

/* Opens the store's root directory (creating it and its parts, 0700, when
 * create). */
int sbx_store_open(const char *store, bool create, struct sbx_err *err);

/* flock()s the store's lock file (LOCK_SH or LOCK_EX, maybe | LOCK_NB:
 * then -EWOULDBLOCK, err untouched, when taken); returns its fd. */
int sbx_store_lock(int rootfd, int op, struct sbx_err *err);

/* images/<file name> of a canonical image name. */
void sbx_store_record_file(const char *name, char *out, size_t size);

/* Loads and checks the record of canonical name; *out is a new reference. */
int sbx_store_record_load(int rootfd, const char *name, json_t **out, struct sbx_err *err);

/* Finds the record ref names: NAME[:TAG]; NAME[:TAG]@sha256:HEX (an image
 * of NAME, of that TAG when given, whose id or manifest digest is HEX); or,
 * when no image has ref as its name, an image id or its prefix
 * ("sha256:" and 4 to 64 hex digits, or 12 to 64 bare ones). With unique,
 * a reference that matches several names is refused (rm removes one name).
 * Writes the record's name into canon (size >= 300). */
int sbx_store_find(int rootfd, const char *ref, bool unique, char *canon, json_t **out,
                   struct sbx_err *err);

/* Writes a record atomically (a temporary file renamed over the old one). */
int sbx_store_record_write(int rootfd, const char *name, json_t *rec, struct sbx_err *err);

/* Whether s is 64 lowercase hex digits. */
bool sbx_is_sha256_hex(const char *s);

/* Under the exclusive lock: removes every layer no record names and no
 * job holds (counted in *busy), and everything in tmp/. */
int sbx_store_gc(int rootfd, unsigned *freed, unsigned *busy, struct sbx_err *err);

#endif
