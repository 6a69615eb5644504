/* sf_h5pack.h — a small self-verifying HDF5 container: named arrays plus scalar attributes,
 * the file format of checkpoints (latent, sampler state, step, RNG key, input hashes), the
 * identity bank and the final latents.
 *
 * Writing builds the HDF5 file in memory (core driver, no backing store), then publishes it with
 * sf_file (temp + fsync + rename + directory fsync) and publishes a sidecar PATH.sha256 holding
 * the SHA-256 of the whole file the same way. Opening reads the file, checks its size and
 * checksum against the sidecar BEFORE HDF5 parses a byte (HDF5 1.10 can crash on crafted files),
 * then opens the verified image from memory. A file without a valid sidecar is refused
 * (SF_E_CHECKSUM): a crash between the two publishes leaves a file that is simply not valid,
 * and the caller falls back to the previous checkpoint.
 *
 * All HDF5 calls of the process must come from one thread (the parallel HDF5 build is not
 * thread-safe); these functions do not lock.
 */
#ifndef SF_H5PACK_H
#define SF_H5PACK_H

#include <stddef.h>
#include <stdint.h>

#include "sf_dtype.h"

#define SF_H5PACK_MAX_DIMS 6

/* A named array; bf16/fp16 are stored as 16-bit integers with their dtype in an attribute. */
struct sf_h5_array {
    const char *name; /* dataset path, may contain groups: "sampler/history" */
    enum sf_dtype dtype;
    int ndim;         /* 0 for a scalar */
    int64_t shape[SF_H5PACK_MAX_DIMS];
    const void *data;
};

enum sf_h5_attr_type { SF_H5_INT, SF_H5_DOUBLE, SF_H5_STRING };

/* A root attribute. */
struct sf_h5_attr {
    const char *name;
    enum sf_h5_attr_type type;
    int64_t i;
    double d;
    const char *s;
};

/* Writes PATH and PATH.sha256. On failure neither is changed (SF_E_NOSPC for a full disk). */
int sf_h5pack_write(const char *path, const struct sf_h5_array *arrays, int n_arrays,
                    const struct sf_h5_attr *attrs, int n_attrs);

struct sf_h5pack;

/* Reads and verifies PATH (against PATH.sha256) and opens it. SF_E_CHECKSUM when the sidecar is
 * missing or does not match, SF_E_FORMAT when a verified file is still not a valid container. */
int sf_h5pack_open(const char *path, struct sf_h5pack **out);
void sf_h5pack_close(struct sf_h5pack *p);

/* Describes array `name` (data is NULL); SF_E_NOTFOUND when absent. */
int sf_h5pack_describe(struct sf_h5pack *p, const char *name, struct sf_h5_array *out);
/* Reads array `name` into buf, which must hold exactly `bytes`; the dtype and element count
 * must match `want` (a checkpoint from another shape is an error, SF_E_FORMAT, naming both). */
int sf_h5pack_read(struct sf_h5pack *p, const char *name, enum sf_dtype want, void *buf,
                   size_t bytes);
int sf_h5pack_attr_int(struct sf_h5pack *p, const char *name, int64_t *out);
int sf_h5pack_attr_double(struct sf_h5pack *p, const char *name, double *out);
/* Copies a string attribute into buf[n] (NUL-terminated, SF_E_INVAL if it does not fit). */
int sf_h5pack_attr_string(struct sf_h5pack *p, const char *name, char *buf, size_t n);

/* Everything a container holds, for `shotfarm inspect`: calls on_array for every array (name is
 * its path, data NULL) in name order, then on_attr for every root attribute except the
 * container's own sf_format (a string's s and every name are valid during the call only);
 * either callback may be NULL.
 * A callback's non-SF_OK return stops the walk and is returned. */
int sf_h5pack_walk(struct sf_h5pack *p, int (*on_array)(void *arg, const struct sf_h5_array *a),
                   int (*on_attr)(void *arg, const struct sf_h5_attr *a), void *arg);

/* Fault injection for tests (the kill-inside-a-checkpoint test): when set, called once per
 * sf_h5pack_write between publishing the data file and publishing its sidecar, with the path.
 * NULL (the default) for none. Not thread-safe, like every HDF5 call here. */
void sf_h5pack_set_publish_hook(void (*hook)(const char *path));

#endif
