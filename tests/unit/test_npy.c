/*
 * test_npy.c — src/npy.c against the fixtures of tests/data/npy/make_npy.py.
 * Run from the repository root.
 */
#include "check.h"
#include "formats/npy.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIR "tests/data/npy/"

#define slurp check_slurp

/* Parses DIR name; returns 0 or -1 with err filled. */
static int load(const char *name, struct npy *a, char *err, size_t errlen)
{
	char path[256];
	size_t len = 0;
	snprintf(path, sizeof path, DIR "%s", name);
	unsigned char *buf = slurp(path, &len);
	if (!buf) {
		snprintf(err, errlen, "cannot read %.200s", path);
		memset(a, 0, sizeof *a);
		return -1;
	}
	int rc = npy_parse(buf, len, a, err, errlen);
	free(buf);
	return rc;
}

/* True when a holds arange(count) (bool: arange % 2). */
static int is_arange(const struct npy *a)
{
	for (size_t i = 0; i < a->count; i++) {
		double want = a->dtype == NPY_BOOL ? (double)(i % 2) : (double)i;
		if (npy_get(a, i) != want)
			return 0;
	}
	return 1;
}

static void expect_ok(const char *file, enum npy_dtype t, int ndim, const int64_t *shape)
{
	struct npy a;
	char err[256] = "", name[128];
	int rc = load(file, &a, err, sizeof err);
	snprintf(name, sizeof name, "parse %s", file);
	CHECK(rc == 0, name, "%s", err);
	if (rc == 0) {
		int same = a.dtype == t && a.ndim == ndim;
		size_t count = 1;
		for (int d = 0; same && d < ndim; d++) {
			same = a.shape[d] == shape[d];
			count *= (size_t)shape[d];
		}
		snprintf(name, sizeof name, "shape %s", file);
		CHECK(same && a.count == count, name, "dtype %s ndim %d count %zu", npy_name(a.dtype), a.ndim,
		      a.count);
		snprintf(name, sizeof name, "values %s", file);
		CHECK(a.data && is_arange(&a), name, "values are not arange(%zu)", a.count);
	}
	npy_free(&a);
}

static void expect_fail(const char *file, const char *msg)
{
	struct npy a;
	char err[256] = "", name[128];
	int rc = load(file, &a, err, sizeof err);
	snprintf(name, sizeof name, "refuse %s", file);
	CHECK(rc == -1 && a.data == NULL && strstr(err, msg) && !strchr(err, '\n'), name,
	      "rc %d, err '%s', want '%s'", rc, err, msg);
	npy_free(&a);
}

/* Writes with npy_write and compares with numpy's file byte for byte. */
static void expect_write(const char *ref, enum npy_dtype t, int ndim, const int64_t *shape)
{
	char path[256], name[128];
	size_t rlen = 0, wlen = 0;
	snprintf(path, sizeof path, DIR "%s", ref);
	unsigned char *want = slurp(path, &rlen);

	struct npy a;
	char err[256] = "";
	int rc = want ? npy_parse(want, rlen, &a, err, sizeof err) : -1;
	snprintf(name, sizeof name, "reference %s", ref);
	CHECK(rc == 0, name, "%s", err);
	if (rc != 0) {
		free(want);
		return;
	}

	char *got = NULL;
	FILE *f = open_memstream(&got, &wlen);
	rc = npy_write(f, t, ndim, shape, a.data);
	fclose(f);
	snprintf(name, sizeof name, "write %s", ref);
	CHECK(rc == 0 && wlen == rlen && memcmp(got, want, rlen) == 0, name,
	      "rc %d, %zu bytes written, numpy wrote %zu", rc, wlen, rlen);
	snprintf(name, sizeof name, "aligned %s", ref);
	CHECK(wlen >= 10 && (10 + ((size_t)(unsigned char)got[8] | (size_t)(unsigned char)got[9] << 8)) % 64 == 0,
	      name, "data does not start at a multiple of 64");

	struct npy b;
	rc = npy_parse((unsigned char *)got, wlen, &b, err, sizeof err);
	snprintf(name, sizeof name, "round trip %s", ref);
	CHECK(rc == 0 && b.dtype == t && b.count == a.count &&
	      memcmp(b.data, a.data, a.count * npy_itemsize(t)) == 0, name, "%s", err);
	npy_free(&b);
	npy_free(&a);
	free(got);
	free(want);
}

int main(void)
{
	static const struct { const char *code; enum npy_dtype t; } le[] = {
		{"b1", NPY_BOOL}, {"i1", NPY_I8}, {"u1", NPY_U8}, {"i2", NPY_I16}, {"u2", NPY_U16},
		{"i4", NPY_I32}, {"u4", NPY_U32}, {"i8", NPY_I64}, {"u8", NPY_U64}, {"f2", NPY_F16},
		{"f4", NPY_F32}, {"f8", NPY_F64},
	};
	static const struct { const char *code; enum npy_dtype t; } be[] = {
		{"i2", NPY_I16}, {"u4", NPY_U32}, {"i8", NPY_I64}, {"f2", NPY_F16}, {"f4", NPY_F32}, {"f8", NPY_F64},
	};
	const int64_t s23[] = {2, 3};
	char file[64];
	for (size_t i = 0; i < sizeof le / sizeof le[0]; i++) {
		snprintf(file, sizeof file, "le_%s.npy", le[i].code);
		expect_ok(file, le[i].t, 2, s23);
	}
	for (size_t i = 0; i < sizeof be / sizeof be[0]; i++) {
		snprintf(file, sizeof file, "be_%s.npy", be[i].code);
		expect_ok(file, be[i].t, 2, s23);
	}
	expect_ok("fortran_2d.npy", NPY_I32, 2, (const int64_t[]){3, 4});
	expect_ok("fortran_3d.npy", NPY_F64, 3, (const int64_t[]){2, 3, 4});
	expect_ok("vec5.npy", NPY_I64, 1, (const int64_t[]){5});
	expect_ok("empty.npy", NPY_F32, 2, (const int64_t[]){0, 3});
	expect_ok("d4.npy", NPY_U16, 4, (const int64_t[]){1, 2, 3, 4});
	expect_ok("v2.npy", NPY_F32, 2, (const int64_t[]){2, 2});
	expect_ok("v3.npy", NPY_I16, 1, (const int64_t[]){3});
	expect_ok("odd_header.npy", NPY_U8, 2, (const int64_t[]){2, 2});

	struct npy a;
	char err[256] = "";
	int rc = load("scalar.npy", &a, err, sizeof err);
	CHECK(rc == 0 && a.ndim == 0 && a.count == 1 && a.dtype == NPY_F32 && npy_get(&a, 0) == 7.0, "scalar",
	      "rc %d ndim %d count %zu: %s", rc, a.ndim, a.count, err);
	npy_free(&a);
	rc = load("question_bool.npy", &a, err, sizeof err);
	CHECK(rc == 0 && a.dtype == NPY_BOOL && a.count == 3 && npy_get(&a, 0) == 0 && npy_get(&a, 1) == 1 &&
	      npy_get(&a, 2) == 1, "bool '?' descr, normalised to 0/1", "rc %d: %s", rc, err);
	npy_free(&a);
	npy_free(NULL);
	CHECK(1, "npy_free(NULL)", "unreachable");

	expect_fail("bad_magic.npy", "not a .npy file");
	expect_fail("lying_shape.npy", ".npy header claims 1000000 items but the file holds 12");
	expect_fail("truncated.npy", "claims 6 items but the file holds 43 bytes");
	expect_fail("trailing.npy", "claims 6 items but the file holds 7");
	expect_fail("huge_shape.npy", "absurdly large");
	expect_fail("huge_dim.npy", "absurd");
	expect_fail("negative_shape.npy", "negative");
	expect_fail("too_many_dims.npy", "more than 16 dimensions");
	expect_fail("header_past_end.npy", "header runs past the end");
	expect_fail("header_past_end_v2.npy", "header runs past the end");
	expect_fail("bad_version.npy", "unsupported .npy format version 4.0");
	expect_fail("missing_key.npy", "missing keys");
	expect_fail("extra_key.npy", "unexpected key 'x'");
	expect_fail("structured.npy", "structured");
	expect_fail("unterminated.npy", "bad .npy header");
	expect_fail("object.npy", "unsupported .npy dtype '|O'");
	expect_fail("complex.npy", "unsupported .npy dtype '<c8'");
	expect_fail("string.npy", "unsupported .npy dtype '<U2'");
	expect_fail("datetime.npy", "unsupported .npy dtype '<M8[s]'");

	rc = npy_parse((const unsigned char *)"\x93NUMPY", 6, &a, err, sizeof err);
	CHECK(rc == -1 && strcmp(err, "not a .npy file") == 0, "short buffer", "rc %d: %s", rc, err);

	expect_write("w_f32_2x3.npy", NPY_F32, 2, s23);
	expect_write("w_u8_7.npy", NPY_U8, 1, (const int64_t[]){7});
	expect_write("w_i64_scalar.npy", NPY_I64, 0, NULL);
	expect_write("w_f16_1x2x3x4.npy", NPY_F16, 4, (const int64_t[]){1, 2, 3, 4});
	expect_write("w_b1_0x4.npy", NPY_BOOL, 2, (const int64_t[]){0, 4});

	FILE *f = fopen("/dev/null", "wb");
	errno = 0;
	rc = npy_write(f, NPY_F32, 1, (const int64_t[]){-1}, NULL);
	CHECK(rc == -1 && errno == EINVAL, "write refuses a negative shape", "rc %d errno %d", rc, errno);
	rc = npy_write(f, NPY_NTYPES, 0, NULL, "x");
	CHECK(rc == -1 && errno == EINVAL, "write refuses a bad dtype", "rc %d errno %d", rc, errno);
	fclose(f);

	/* a fixed-length header, rewritten in place as rows are appended (embed --save-dir) */
	{
		char h0[NPY_HEADER_MAX], h1[NPY_HEADER_MAX];
		struct npy_header h;
		int n0 = npy_header(h0, 128, NPY_F32, 2, (const int64_t[]){0, 0});
		int n1 = npy_header(h1, 128, NPY_F32, 2, (const int64_t[]){999999999999LL, 1000000});
		CHECK(n0 == 128 && n1 == 128, "fixed header: 128 bytes whatever the shape", "%d %d", n0, n1);
		rc = npy_parse_header((const unsigned char *)h1, 128, &h, err, sizeof err);
		CHECK(rc == 0 && h.dtype == NPY_F32 && h.ndim == 2 && h.shape[0] == 999999999999LL &&
		      h.shape[1] == 1000000 && h.offset == 128 && !h.fortran, "fixed header parses", "rc %d: %s", rc, err);
		rc = npy_parse((const unsigned char *)h0, 128, &a, err, sizeof err);
		CHECK(rc == 0 && a.ndim == 2 && a.count == 0, "fixed header: an empty matrix is a whole file", "rc %d: %s",
		      rc, err);
		npy_free(&a);
		errno = 0;
		rc = npy_header(h0, 64, NPY_F32, 2, (const int64_t[]){1, 128});
		CHECK(rc == -1 && errno == ENOSPC, "fixed header: too short a length refused", "rc %d errno %d", rc, errno);
		rc = npy_parse_header((const unsigned char *)h1, 60, &h, err, sizeof err);
		CHECK(rc == -1, "header cut short refused", "rc %d", rc);
	}

	CHECK(npy_itemsize(NPY_F16) == 2 && npy_itemsize(NPY_U64) == 8 && npy_itemsize(NPY_BOOL) == 1,
	      "itemsize", "wrong item sizes");
	CHECK(strcmp(npy_name(NPY_BOOL), "bool") == 0 && strcmp(npy_name(NPY_I8), "int8") == 0 &&
	      strcmp(npy_name(NPY_F16), "float16") == 0 && strcmp(npy_name(NPY_U64), "uint64") == 0,
	      "names", "wrong names");
	CHECK(strcmp(npy_descr(NPY_F32), "<f4") == 0 && strcmp(npy_descr(NPY_U8), "|u1") == 0, "descr",
	      "wrong descriptors");
	return check_done();
}
