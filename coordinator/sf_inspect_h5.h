/* sf_inspect_h5.h — `shotfarm inspect FILE.h5`: a verified HDF5 container (a checkpoint, a
 * final latent; io/sf_h5pack.h) — whether it verifies against its sidecar, its attributes and
 * arrays. inspect_h5.c in the full build; inspect_h5_none.c says the minimal build has no HDF5. */
#ifndef SF_INSPECT_H5_H
#define SF_INSPECT_H5_H

/* Prints the container at path (text, or one JSON document with json) and returns SF_OK, or
 * SF_E_CHECKSUM / SF_E_FORMAT (after printing "verified: no" and the reason) for one that does
 * not verify, so scripts can test the exit code. */
int sf_inspect_h5(const char *path, int json, int list);

#endif
