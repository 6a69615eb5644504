/* sf_errors.h — turning other libraries' failures into an sf_status plus one log line that
 * carries the library's own message and what we were trying to do.
 *
 *   SF_TRY(st, sf_mpi_check(MPI_Bcast(...), "broadcast the identity bank"));
 *   SF_TRY(st, sf_av_check(avcodec_open2(...), "open the H.264 encoder for out/a.mp4"));
 *
 * Each returns SF_OK when the library reported success. The MPI, HDF5 and libav wrappers live in
 * the full build only (not SF_MINIMAL); the CUDA ones are in kernels/cuda/sf_cuda.h.
 */
#ifndef SF_ERRORS_H
#define SF_ERRORS_H

/* errno after a failed system call: SF_E_NOSPC for ENOSPC/EFBIG/EDQUOT, SF_E_NOTFOUND for
 * ENOENT, SF_E_IO otherwise; logs "what: path: strerror". */
int sf_err_errno(int err, const char *what, const char *path);

#define sf_mpi_check(rc, what) sf_mpi_check_at((rc), (what), __FILE__, __LINE__)
#define sf_h5_check(rc, what) sf_h5_check_at((long long)(rc), (what), __FILE__, __LINE__)
#define sf_av_check(rc, what) sf_av_check_at((rc), (what), __FILE__, __LINE__)

/* rc is an MPI return code; MPI_SUCCESS -> SF_OK, else SF_E_MPI with MPI_Error_string. */
int sf_mpi_check_at(int rc, const char *what, const char *file, int line);
/* rc is an HDF5 herr_t/hid_t: negative is failure -> SF_E_HDF5 with the top of HDF5's stack. */
int sf_h5_check_at(long long rc, const char *what, const char *file, int line);
/* rc is a libav* return: negative is failure -> SF_E_AV (or SF_E_NOSPC for ENOSPC), with
 * av_strerror's text. */
int sf_av_check_at(int rc, const char *what, const char *file, int line);
/* libav's own chatter (x264's statistics, ebur128's summary) only when SF_LOG=debug. */
void sf_av_log_quiet(void);

#endif
