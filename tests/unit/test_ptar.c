/*
 * test_ptar.c — src/ptar.c against the archives of tests/data/ptar/make_ptar.py
 * and the figures it wrote to expected.txt.  Run from the repository root.
 */
#include "check.h"
#include "formats/ptar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DIR "tests/data/ptar/"

#define slurp check_slurp

/* Parses an unsigned decimal field; returns 0 or -1. */
static int num(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-')
		return -1;
	*v = x;
	return 0;
}

/* Checks ptar_stat and ptar_stat_mem on one line of expected.txt. */
static void check_line(char *line)
{
	char *f[8], *save = NULL, name[160];
	int n = 0;
	for (char *t = strtok_r(line, " \n", &save); t && n < 8; t = strtok_r(NULL, " \n", &save))
		f[n++] = t;
	uint64_t v[6];
	int ok = n == 8;
	for (int i = 0; ok && i < 6; i++)
		ok = num(f[i + 1], &v[i]) == 0;
	CHECK(ok, "expected.txt line", "malformed line for %s", n ? f[0] : "?");
	if (!ok)
		return;

	char path[256], err[256] = "";
	snprintf(path, sizeof path, DIR "%s", f[0]);
	struct ptar_info a, b;
	int rc = ptar_stat(path, &a, err, sizeof err);
	snprintf(name, sizeof name, "stat %s", f[0]);
	CHECK(rc == 0, name, "%s", err);
	if (rc != 0)
		return;
	snprintf(name, sizeof name, "figures %s", f[0]);
	CHECK(a.file_size == v[0] && a.weight_bytes == v[1] && a.float_bytes == v[2] && a.largest_record == v[3] &&
	      a.n_records == (int)v[4] && a.n_extra == (int)v[5] && strcmp(a.root, f[7]) == 0, name,
	      "got size %llu weights %llu float %llu largest %llu records %d extra %d root %s",
	      (unsigned long long)a.file_size, (unsigned long long)a.weight_bytes,
	      (unsigned long long)a.float_bytes, (unsigned long long)a.largest_record, a.n_records, a.n_extra,
	      a.root);

	size_t len = 0;
	unsigned char *buf = slurp(path, &len);
	rc = buf ? ptar_stat_mem(buf, len, &b, err, sizeof err) : -1;
	snprintf(name, sizeof name, "stat_mem %s", f[0]);
	CHECK(rc == 0 && a.file_size == b.file_size && a.weight_bytes == b.weight_bytes &&
	      a.largest_record == b.largest_record && a.n_records == b.n_records && a.float_bytes == b.float_bytes &&
	      strcmp(a.root, b.root) == 0 && a.n_extra == b.n_extra && memcmp(a.extra, b.extra, sizeof a.extra) == 0,
	      name, "rc %d: %s", rc, err);
	free(buf);
}

/* ptar_extra must return config.txt's text from path. */
static void check_config(const char *file, const char *want)
{
	char path[256], err[256] = "x", name[160];
	size_t len = 0;
	snprintf(path, sizeof path, DIR "%s", file);
	char *got = ptar_extra(path, "config.txt", &len, err, sizeof err);
	snprintf(name, sizeof name, "extra config.txt of %s", file);
	CHECK(got && len == strlen(want) && strcmp(got, want) == 0, name, "%s", got ? got : err);
	free(got);
}

static void expect_fail(const char *file, const char *msg)
{
	char path[256], err[256] = "", name[160];
	struct ptar_info a;
	snprintf(path, sizeof path, DIR "%s", file);
	int rc = ptar_stat(path, &a, err, sizeof err);
	snprintf(name, sizeof name, "refuse %s", file);
	CHECK(rc == -1 && strstr(err, msg) && !strchr(err, '\n'), name, "rc %d, err '%s', want '%s'", rc, err, msg);
}

int main(void)
{
	size_t len = 0;
	char *exp = (char *)slurp(DIR "expected.txt", &len);
	CHECK(exp != NULL, "read expected.txt", "run tests/data/ptar/make_ptar.py");
	int lines = 0;
	for (char *save = NULL, *l = exp ? strtok_r(exp, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char copy[512];
		snprintf(copy, sizeof copy, "%s", l);
		check_line(copy);
		lines++;
	}
	CHECK(lines == 5, "expected.txt has every archive", "%d lines", lines);
	free(exp);

	struct ptar_info a;
	char err[256] = "";
	if (ptar_stat(DIR "model.pt", &a, err, sizeof err) == 0) {
		int seen = 0;
		for (int i = 0; i < a.n_extra && i < 16; i++)
			seen += strcmp(a.extra[i], "config.txt") == 0 || strcmp(a.extra[i], "notes.txt") == 0;
		CHECK(seen == 2, "extra names", "config.txt and notes.txt not both listed");
	}

	size_t clen = 0;
	char *config = (char *)slurp(DIR "config.txt", &clen);
	CHECK(config != NULL, "read config.txt", "missing fixture");
	if (config) {
		check_config("model.pt", config);
		check_config("zip64.pt", config);
		check_config("deflated.pt", config);
		check_config("comment.pt", config);
		size_t mlen = 0, elen = 0;
		unsigned char *mem = slurp(DIR "deflated.pt", &mlen);
		char *got = mem ? ptar_extra_mem(mem, mlen, "config.txt", &elen, err, sizeof err) : NULL;
		CHECK(got && strcmp(got, config) == 0, "extra_mem config.txt of deflated.pt", "%s", err);
		free(got);
		free(mem);
	}
	free(config);

	strcpy(err, "x");
	char *none = ptar_extra(DIR "model.pt", "absent.txt", &len, err, sizeof err);
	CHECK(none == NULL && err[0] == '\0', "absent extra file", "err '%s'", err);
	free(none);
	none = ptar_extra(DIR "frozen.pt", "config.txt", &len, err, sizeof err);
	CHECK(none == NULL && err[0] == '\0', "archive without extra files", "err '%s'", err);
	free(none);
	none = ptar_extra(DIR "not_zip.pt", "config.txt", &len, err, sizeof err);
	CHECK(none == NULL && strstr(err, "no zip directory"), "extra from a non-zip", "err '%s'", err);
	free(none);

	expect_fail("not_zip.pt", "not a TorchScript archive (no zip directory)");
	expect_fail("truncated.pt", "not a TorchScript archive (no zip directory)");
	expect_fail("tail_cut.pt", "not a TorchScript archive (no zip directory)");
	expect_fail("no_pickle.pt", "not a TorchScript archive (no root/data.pkl)");
	/* found by fuzz_ptar: a root name with a newline must not break the one-line message */
	expect_fail("newline_root.pt", "not a TorchScript archive (no ?/data.pkl)");
	expect_fail("absent.pt", "cannot open: No such file or directory");
	expect_fail("", "cannot open");
	char dir[] = "tests/data/ptar";
	int rc = ptar_stat(dir, &a, err, sizeof err);
	CHECK(rc == -1 && strstr(err, "is a directory"), "refuse a directory", "rc %d: %s", rc, err);

	/* damaged copies made in memory: every byte of the directory and its end record clobbered in turn */
	size_t mlen = 0;
	unsigned char *m = slurp(DIR "model.pt", &mlen);
	int survived = 1;
	for (size_t i = mlen > 1200 ? mlen - 1200 : 0; m && i < mlen; i++) {
		unsigned char keep = m[i];
		for (int x = 0; x < 3; x++) {
			m[i] = (unsigned char)(x == 0 ? 0xff : x == 1 ? 0x00 : keep ^ 0x80);
			struct ptar_info b;
			size_t el;
			if (ptar_stat_mem(m, mlen, &b, err, sizeof err) == 0 && b.n_records > 4)
				survived = 0;
			free(ptar_extra_mem(m, mlen, "config.txt", &el, err, sizeof err));
		}
		m[i] = keep;
	}
	CHECK(m && survived, "clobbered directories do not crash", "implausible figures");
	for (size_t cut = 0; m && cut < mlen; cut += 7) {
		struct ptar_info b;
		ptar_stat_mem(m, cut, &b, err, sizeof err);
	}
	CHECK(m != NULL, "every truncation is survived", "no fixture");
	free(m);
	return check_done();
}
