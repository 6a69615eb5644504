/* sf_safetensors.h — reading and writing safetensors files (https://github.com/huggingface/
 * safetensors): an 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
 * {dtype, shape, data_offsets}, then the raw little-endian data.
 *
 * Reading maps the file (mmap, read-only) after validating the whole header as strictly as the
 * reference implementation: header length within the file and under 100 MB, JSON, known dtypes,
 * shape x dtype size = byte range, ranges inside the data, sorted, non-overlapping and without
 * holes. A bad file gives one logged line naming the file, the tensor and what to do.
 * A sharded model (`*.safetensors.index.json` with a weight_map) opens as one set.
 *
 *   struct sf_st *st;
 *   SF_TRY(st_, sf_st_open("transformer/diffusion_pytorch_model.safetensors", &st));
 *   const struct sf_st_tensor *t = sf_st_find(st, "proj_out.weight");   // NULL if absent
 *   float w[64 * 1536];
 *   SF_TRY(st_, sf_st_read(t, SF_DTYPE_F32, 0, 64, 0, 1536, w, sizeof w));
 *   sf_st_close(st);
 *
 * Writing takes plain descriptors (name, dtype, shape, data pointer or a fill callback), so io/
 * depends on nothing else of ours; the file appears atomically (sf_file.h).
 */
#ifndef SF_SAFETENSORS_H
#define SF_SAFETENSORS_H

#include "sf_dtype.h"

#include <stddef.h>
#include <stdint.h>

#define SF_ST_MAX_DIMS 8
/* The reference implementation's bound on the JSON header (safetensors/src/tensor.rs). */
#define SF_ST_MAX_HEADER_BYTES 100000000ull

struct sf_st_tensor {
    const char *name;
    enum sf_dtype dtype;
    int n_dims;
    int64_t shape[SF_ST_MAX_DIMS]; /* outermost first; n_dims == 0 is a scalar */
    uint64_t n_elems;
    uint64_t n_bytes;
    const void *data;              /* inside the read-only mapping; NOT aligned in general */
    const char *file;              /* path of the file that holds it */
};

struct sf_st;

/* Opens a .safetensors file, or a sharded set through its .safetensors.index.json (every shard
 * it names, relative to the index's directory). Returns SF_OK and *out (destroy with
 * sf_st_close), or SF_E_NOTFOUND / SF_E_IO (cannot open or map), SF_E_FORMAT (malformed header,
 * index, or a tensor named twice across shards), SF_E_UNSUPPORTED (a dtype shotfarm does not
 * read), each with one logged line naming the file and tensor. */
int sf_st_open(const char *path, struct sf_st **out);
/* Same validation over bytes the caller holds (borrowed: they must outlive *out); `what` names
 * them in messages. Used by the fuzz harness and by tests. */
int sf_st_open_mem(const void *bytes, size_t n, const char *what, struct sf_st **out);
/* Unmaps and frees; NULL does nothing. Tensor pointers die with it. */
void sf_st_close(struct sf_st *st);

/* Tensors sorted by name, 0 <= i < sf_st_count. */
size_t sf_st_count(const struct sf_st *st);
const struct sf_st_tensor *sf_st_at(const struct sf_st *st, size_t i);
/* The tensor called name, or NULL (nothing logged). */
const struct sf_st_tensor *sf_st_find(const struct sf_st *st, const char *name);
/* __metadata__ value for key (the first file's, or the index's "metadata"), or NULL. */
const char *sf_st_metadata(const struct sf_st *st, const char *key);
/* The path given to sf_st_open (or `what`), the number of files, total tensor bytes. */
const char *sf_st_path(const struct sf_st *st);
size_t sf_st_n_files(const struct sf_st *st);
uint64_t sf_st_total_bytes(const struct sf_st *st);

/* Copies a block of t into dst, converting the element type to dst_dtype. The tensor is seen as
 * a matrix (shape[0], product of the other dims) — a 1-D tensor is one column, a scalar 1x1 — and
 * rows [row0, row0+n_rows) x columns [col0, col0+n_cols) are written row-major into dst; this is
 * how a tensor-parallel rank reads its share of a Linear weight (rows) or of its input (columns).
 * Conversions: between fp32, bf16 and fp16 (round to nearest even), and any dtype to itself.
 * Returns SF_OK, SF_E_INVAL (block outside the tensor, or dst_bytes too small: a bug in the
 * caller, logged) or SF_E_UNSUPPORTED (a conversion not listed, logged naming file and tensor). */
int sf_st_read(const struct sf_st_tensor *t, enum sf_dtype dst_dtype, int64_t row0,
               int64_t n_rows, int64_t col0, int64_t n_cols, void *dst, size_t dst_bytes);
/* The whole tensor (n_elems elements of dst_dtype). */
int sf_st_read_all(const struct sf_st_tensor *t, enum sf_dtype dst_dtype, void *dst,
                   size_t dst_bytes);
/* Drops this process's resident pages of t (the whole pages inside its bytes) from the mapping:
 * for a tensor read once into a copy, e.g. a tensor-parallel rank's column slice, whose reading
 * touched every page of the other ranks' columns too. The page cache keeps the pages and a later
 * access maps them again unchanged (the mapping is read-only). Nothing for borrowed bytes
 * (sf_st_open_mem). Cannot fail (madvise errors are ignored: only memory use is at stake). */
void sf_st_release(const struct sf_st *st, const struct sf_st_tensor *t);

/* ---- writing -------------------------------------------------------------------------- */

/* Produces bytes [offset, offset + n) of tensor i (offset and n are multiples of 16 bytes
 * except at the tensor's end). Returns SF_OK or a failure status that aborts the write. */
typedef int (*sf_st_fill_fn)(void *ctx, size_t i, uint64_t offset, void *buf, size_t n);

struct sf_st_desc {
    const char *name;
    enum sf_dtype dtype;
    int n_dims;
    int64_t shape[SF_ST_MAX_DIMS];
    const void *data; /* n_elems x dtype bytes, little-endian; NULL: ask the fill callback */
};

/* Writes the tensors in the given order, with optional __metadata__ (meta_kv: key, value, key,
 * value, ..., n_meta pairs), to path atomically. Tensors whose data is NULL are produced in
 * chunks of at most 8 MiB by fill(ctx, ...), so models larger than memory can be written.
 * Returns SF_OK, SF_E_INVAL (bad descriptor or duplicate name, logged), SF_E_IO / SF_E_NOSPC,
 * or the fill callback's status; on failure the target is left as it was. */
int sf_st_write(const char *path, const struct sf_st_desc *t, size_t n, const char *const *meta_kv,
                size_t n_meta, sf_st_fill_fn fill, void *ctx);

/* Elements in a shape (1 for a scalar); 0 on overflow past 2^62. */
uint64_t sf_st_shape_elems(int n_dims, const int64_t *shape);
/* "[1536, 16, 1, 2, 2]" into buf. */
void sf_st_shape_str(int n_dims, const int64_t *shape, char *buf, size_t n);

#endif
