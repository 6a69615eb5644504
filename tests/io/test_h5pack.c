/* The verified HDF5 container: bit-exact round trip of every dtype; the file is a real HDF5 file
 * (readable by HDF5's own file driver); a flipped byte, a truncation, a missing sidecar and a
 * checksummed non-HDF5 file are refused before/without crashing HDF5; a failed write (disk full)
 * leaves the previous file and sidecar intact; reading with the wrong dtype or size is refused. */
#define _POSIX_C_SOURCE 200809L
#include "sf_file.h"
#include "sf_h5pack.h"
#include "sf_status.h"
#include "sf_test.h"

#include <hdf5.h>
#include <stdlib.h>
#include <unistd.h>

static float lat[2 * 3 * 5];
static uint16_t hist[4 * 7];
static int64_t key[2] = {INT64_MIN, 42};
static double sigma = 0.25;

static int write_pack(const char *path, int64_t step)
{
    struct sf_h5_array arrays[] = {
        {"latent", SF_DTYPE_F32, 3, {2, 3, 5}, lat},
        {"sampler/history", SF_DTYPE_BF16, 2, {4, 7}, hist},
        {"rng_key", SF_DTYPE_I64, 1, {2}, key},
        {"sampler/sigma", SF_DTYPE_F64, 0, {0}, &sigma},
    };
    struct sf_h5_attr attrs[] = {
        {.name = "step", .type = SF_H5_INT, .i = step},
        {.name = "shift", .type = SF_H5_DOUBLE, .d = 5.0},
        {.name = "model_sha256", .type = SF_H5_STRING, .s = "ab12"},
    };
    return sf_h5pack_write(path, arrays, 4, attrs, 3);
}

static void corrupt_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

int main(void)
{
    sf_test_fill(lat, 30, 3);
    for (int i = 0; i < 28; i++) hist[i] = (uint16_t)(i * 2654435761u >> 16);
    char dir[] = "/tmp/sf-h5-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], side[300], cmd[1200];
    snprintf(path, sizeof path, "%s/ckpt.h5", dir);
    snprintf(side, sizeof side, "%s.sha256", path);

    CHECK_EQ_INT(write_pack(path, 7), SF_OK);
    struct sf_h5pack *p = NULL;
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_OK);
    if (!p) return sf_test_result("io_h5pack");
    float lat2[30];
    uint16_t hist2[28];
    int64_t key2[2], step = 0;
    double sigma2 = 0, shift = 0;
    char model[16];
    CHECK_EQ_INT(sf_h5pack_read(p, "latent", SF_DTYPE_F32, lat2, sizeof lat2), SF_OK);
    CHECK(memcmp(lat, lat2, sizeof lat) == 0);
    CHECK_EQ_INT(sf_h5pack_read(p, "sampler/history", SF_DTYPE_BF16, hist2, sizeof hist2), SF_OK);
    CHECK(memcmp(hist, hist2, sizeof hist) == 0);
    CHECK_EQ_INT(sf_h5pack_read(p, "rng_key", SF_DTYPE_I64, key2, sizeof key2), SF_OK);
    CHECK(key2[0] == INT64_MIN && key2[1] == 42);
    CHECK_EQ_INT(sf_h5pack_read(p, "sampler/sigma", SF_DTYPE_F64, &sigma2, sizeof sigma2), SF_OK);
    CHECK(sigma2 == 0.25);
    CHECK_EQ_INT(sf_h5pack_attr_int(p, "step", &step), SF_OK);
    CHECK_EQ_INT(step, 7);
    CHECK_EQ_INT(sf_h5pack_attr_double(p, "shift", &shift), SF_OK);
    CHECK(shift == 5.0);
    CHECK_EQ_INT(sf_h5pack_attr_string(p, "model_sha256", model, sizeof model), SF_OK);
    CHECK_STR(model, "ab12");
    struct sf_h5_array d;
    CHECK_EQ_INT(sf_h5pack_describe(p, "latent", &d), SF_OK);
    CHECK(d.dtype == SF_DTYPE_F32 && d.ndim == 3 && d.shape[0] == 2 && d.shape[2] == 5);
    CHECK_EQ_INT(sf_h5pack_describe(p, "nope", &d), SF_E_NOTFOUND);
    /* Wrong dtype or size is refused, not silently converted. */
    CHECK_EQ_INT(sf_h5pack_read(p, "latent", SF_DTYPE_BF16, hist2, 60), SF_E_FORMAT);
    CHECK_EQ_INT(sf_h5pack_read(p, "latent", SF_DTYPE_F32, lat2, 4 * 29), SF_E_FORMAT);
    CHECK_EQ_INT(sf_h5pack_attr_int(p, "shift", &step), SF_E_FORMAT);
    CHECK_EQ_INT(sf_h5pack_attr_string(p, "model_sha256", model, 3), SF_E_INVAL);
    sf_h5pack_close(p);

    /* It is a genuine HDF5 file: HDF5's own on-disk driver reads it. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    if (f >= 0) {
        CHECK(H5Lexists(f, "latent", H5P_DEFAULT) > 0);
        H5Fclose(f);
    }

    /* Disk full while publishing the next one: the previous file and sidecar stay valid. */
    setenv("SF_FAULT_WRITE", "1", 1);
    CHECK_EQ_INT(write_pack(path, 8), SF_E_NOSPC);
    unsetenv("SF_FAULT_WRITE");
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_OK);
    if (p) {
        CHECK_EQ_INT(sf_h5pack_attr_int(p, "step", &step), SF_OK);
        CHECK_EQ_INT(step, 7);
        sf_h5pack_close(p);
    }
    /* Crash between data and sidecar: the new data with the old sidecar is refused. */
    setenv("SF_FAULT_WRITE", "2", 1); /* the sidecar's write */
    CHECK_EQ_INT(write_pack(path, 9), SF_E_NOSPC);
    unsetenv("SF_FAULT_WRITE");
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_E_CHECKSUM);

    /* A flipped byte, a truncation, a missing sidecar. */
    CHECK_EQ_INT(write_pack(path, 10), SF_OK);
    corrupt_byte(path, 200);
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_E_CHECKSUM);
    CHECK_EQ_INT(write_pack(path, 10), SF_OK);
    CHECK(truncate(path, 100) == 0);
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_E_CHECKSUM);
    CHECK_EQ_INT(write_pack(path, 10), SF_OK);
    unlink(side);
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_E_CHECKSUM);
    /* Checksummed garbage reaches HDF5 and is refused as a format error, not a crash. */
    CHECK_EQ_INT(sf_file_write_atomic(path, "not an hdf5 file at all", 23), SF_OK);
    snprintf(cmd, sizeof cmd, "printf '%%s 23\\n' $(sha256sum %s | cut -c1-64) > %s", path, side);
    CHECK(system(cmd) == 0);
    CHECK_EQ_INT(sf_h5pack_open(path, &p), SF_E_FORMAT);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return sf_test_result("io_h5pack");
}
