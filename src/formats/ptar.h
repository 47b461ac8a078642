/*
 * ptar.h — metadata of a TorchScript archive (a zip file written by
 * torch.jit.save), read without libtorch: the weight records and their
 * sizes, and extra files such as ultralytics' config.txt.
 */
#ifndef TINFER_PTAR_H
#define TINFER_PTAR_H

#include <stddef.h>
#include <stdint.h>

struct ptar_info {
	uint64_t file_size;         /* bytes on disk */
	uint64_t weight_bytes;      /* sum of the tensor storage records (<root>/data/N and
	                               <root>/constants/N, where frozen modules keep theirs) */
	uint64_t largest_record;    /* the largest single storage record */
	int n_records;              /* number of storage records */
	uint64_t float_bytes;       /* bytes of those records whose storage is floating point (-1 if unknown) */
	char root[128];             /* the archive's top folder */
	int n_extra;                /* files under <root>/extra/ */
	char extra[16][64];         /* their names (the first 16) */
};

/*
 * Reads the zip central directory of path.  Returns 0, or -1 with a one-line
 * reason in err ("not a TorchScript archive", I/O errors, ...).
 */
int ptar_stat(const char *path, struct ptar_info *out, char *err, size_t errlen);

/*
 * The same from the zip directory alone, without walking the pickles
 * (float_bytes is -1): whether path is a TorchScript archive and how large,
 * which is all run and bench need before libtorch loads it.
 */
int ptar_stat_dir(const char *path, struct ptar_info *out, char *err, size_t errlen);

/*
 * Returns the contents of <root>/extra/<name> as a malloc'd NUL-terminated
 * buffer (length in *len), or NULL: with err[0] == '\0' when the archive has no
 * such file, with a reason in err on error.
 */
char *ptar_extra(const char *path, const char *name, size_t *len, char *err, size_t errlen);

/*
 * The same two on an archive held in memory (buf, len), for tests and
 * fuzzing: same results and messages, nothing is read from disk.
 */
int ptar_stat_mem(const unsigned char *buf, size_t len, struct ptar_info *out, char *err, size_t errlen);
char *ptar_extra_mem(const unsigned char *buf, size_t len, const char *name, size_t *outlen, char *err,
		     size_t errlen);

#endif
