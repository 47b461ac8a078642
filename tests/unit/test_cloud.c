/*
 * test_cloud.c — src/cloud.c against the fixtures of
 * tests/data/cloud/make_clouds.py and four of assimp's PLY test models.
 * Run from the repository root.
 */
#include "check.h"
#include "formats/cloud.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DIR "tests/data/cloud/"

#define slurp check_slurp

/* Reads DIR name with cloud_read; returns its result, err filled on failure. */
static int load(const char *name, size_t max_points, struct cloud *c, char *err, size_t errlen)
{
	char path[256];
	size_t len = 0;
	snprintf(path, sizeof path, DIR "%s", name);
	unsigned char *buf = slurp(path, &len);
	if (!buf) {
		snprintf(err, errlen, "cannot read %.200s", path);
		memset(c, 0, sizeof *c);
		return -1;
	}
	int rc = cloud_read(buf, len, name, max_points, c, err, errlen);
	free(buf);
	return rc;
}

/* The values make_clouds.py's point(i) gives. */
static void point(size_t i, float p[6])
{
	p[0] = (float)i * 0.5f;
	p[1] = -(float)i;
	p[2] = (float)i * 0.25f + 1.0f;
	p[3] = 0.0f;
	p[4] = i % 2 ? 1.0f : 0.0f;
	p[5] = i % 2 ? 0.0f : -1.0f;
}

/* Reads a good fixture of n points and checks every value against point(). */
static void expect_points(const char *file, size_t n, int normals)
{
	struct cloud c;
	char err[256] = "", name[128];
	int rc = load(file, 0, &c, err, sizeof err);

	snprintf(name, sizeof name, "read %s", file);
	CHECK(rc == 0, name, "%s", err);
	if (rc == 0) {
		size_t bad = (size_t)-1;
		for (size_t i = 0; i < c.n && bad == (size_t)-1; i++) {
			float p[6];
			point(i, p);
			for (int k = 0; k < 3; k++)
				if (c.xyz[3 * i + k] != p[k] || (normals && c.nrm[3 * i + k] != p[3 + k]))
					bad = i;
		}
		snprintf(name, sizeof name, "shape %s", file);
		CHECK(c.n == n && c.has_normals == normals && (c.nrm != NULL) == normals, name,
		      "n %zu normals %d, want %zu %d", c.n, c.has_normals, n, normals);
		snprintf(name, sizeof name, "values %s", file);
		CHECK(bad == (size_t)-1, name, "point %zu differs", bad);
	}
	cloud_free(&c);
}

/* Reads a hostile fixture and checks the refusal and its message. */
static void expect_fail(const char *file, size_t max_points, const char *msg)
{
	struct cloud c;
	char err[256] = "", name[128];
	int rc = load(file, max_points, &c, err, sizeof err);

	snprintf(name, sizeof name, "refuse %s", file);
	CHECK(rc == -1 && c.xyz == NULL && c.nrm == NULL && c.n == 0 && strstr(err, msg) && !strchr(err, '\n'),
	      name, "rc %d, err '%s', want '%s'", rc, err, msg);
	cloud_free(&c);
}

/* Checks that bytes held in memory parse (or not) as a cloud of n points. */
static void expect_mem(const char *what, const char *text, const char *fname, size_t max_points, int ok,
                       size_t n, const char *msg)
{
	struct cloud c;
	char err[256] = "";
	int rc = cloud_read((const unsigned char *)text, strlen(text), fname, max_points, &c, err, sizeof err);

	if (ok)
		CHECK(rc == 0 && c.n == n, what, "rc %d n %zu (want %zu): %s", rc, c.n, n, err);
	else
		CHECK(rc == -1 && c.xyz == NULL && strstr(err, msg), what, "rc %d err '%s', want '%s'", rc, err, msg);
	cloud_free(&c);
}

static void expect_sniff(const char *what, const char *buf, size_t len, const char *fname, enum cloud_format want)
{
	enum cloud_format got = cloud_sniff((const unsigned char *)buf, len, fname);
	CHECK(got == want, what, "got %d, want %d", (int)got, (int)want);
}

static void test_sniff(void)
{
	expect_sniff("sniff ply magic beats the name", "ply\nformat ascii 1.0\n", 20, "a.xyz", CLOUD_PLY);
	expect_sniff("sniff ply crlf", "ply\r\nformat", 10, NULL, CLOUD_PLY);
	expect_sniff("sniff npy magic", "\x93NUMPY\x01\x00", 8, "a.ply", CLOUD_NPY);
	expect_sniff("sniff numbers", "  -1.5 2 3\n", 11, NULL, CLOUD_XYZ);
	expect_sniff("sniff comment", "# x y z\n", 8, NULL, CLOUD_XYZ);
	expect_sniff("sniff .txt name", "hello", 5, "points.TXT", CLOUD_XYZ);
	expect_sniff("sniff text without magic", "hello", 5, "x.ply", CLOUD_UNKNOWN);
	expect_sniff("sniff binary junk", "1 2 \x01\x02", 6, NULL, CLOUD_UNKNOWN);
	expect_sniff("sniff empty", "", 0, NULL, CLOUD_UNKNOWN);
}

static void test_good(void)
{
	expect_points("ascii.ply", 10, 0);
	expect_points("crlf.ply", 10, 1);
	expect_points("binle.ply", 50, 1);
	expect_points("binbe_faces.ply", 20, 0);
	expect_points("extra_le.ply", 12, 1);
	expect_points("extra_be.ply", 12, 1);
	expect_points("extra_ascii.ply", 12, 1);
	expect_points("three.xyz", 15, 0);
	expect_points("six.txt", 15, 1);
	expect_points("f32.npy", 25, 0);
	expect_points("f64_6.npy", 25, 1);

	struct cloud c;
	char err[256] = "";
	int rc = load("i16.npy", 0, &c, err, sizeof err);
	CHECK(rc == 0 && c.n == 25 && !c.has_normals && c.xyz[0] == 0.0f && c.xyz[74] == 74.0f, "read i16.npy",
	      "rc %d n %zu: %s", rc, c.n, err);
	cloud_free(&c);
}

/* Four of assimp's own test models (BSD-3-clause, see ASSIMP-LICENSE). */
static void test_assimp(void)
{
	static const float cube[24] = {0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0};
	struct cloud c;
	char err[256] = "";
	int rc = load("assimp-cube_binary.ply", 0, &c, err, sizeof err);

	CHECK(rc == 0 && c.n == 8 && !c.has_normals && memcmp(c.xyz, cube, sizeof cube) == 0,
	      "assimp cube_binary.ply: 8 cube corners, 12 faces skipped", "rc %d n %zu: %s", rc, c.n, err);
	cloud_free(&c);

	rc = load("assimp-points.ply", 0, &c, err, sizeof err);
	CHECK(rc == 0 && c.n == 4 && c.has_normals && c.xyz[11] == 1.0f && c.nrm[6] == 1.0f && c.nrm[10] == 1.0f,
	      "assimp points.ply: colours skipped, normals read", "rc %d n %zu: %s", rc, c.n, err);
	cloud_free(&c);

	rc = load("assimp-cube.ply", 0, &c, err, sizeof err);
	CHECK(rc == 0 && c.n == 8 && !c.has_normals && memcmp(c.xyz, cube, sizeof cube) == 0,
	      "assimp cube.ply: trailing blanks in the header, float32/uint8/int32 names", "rc %d n %zu: %s", rc,
	      c.n, err);
	cloud_free(&c);

	/* A malformed file (assimp issue 623): its header puts the faces' index
	 * list on the vertex element, whose rows then lack it. */
	expect_fail("assimp-issue623.ply", 0, "ply: vertex 0: bad list count");
}

/* The segment sample's scene (samples/make_segment.py), read as tinfer will. */
static void test_samples(void)
{
	static const char *const files[2] = {"samples/inputs/clouds/scene.ply", "samples/inputs/clouds/scene.xyz"};
	static const size_t want[2] = {20000, 1500};

	for (int i = 0; i < 2; i++) {
		struct cloud c = {0};
		char err[256] = "", name[128];
		size_t len = 0;
		unsigned char *buf = slurp(files[i], &len);
		int rc = buf ? cloud_read(buf, len, files[i], 50000000, &c, err, sizeof err) : -1;
		int inside = rc == 0 && c.has_normals;
		for (size_t j = 0; inside && j < 3 * c.n; j++)
			inside = fabsf(c.xyz[j]) <= 3.5f && fabsf(c.nrm[j]) <= 1.001f;
		snprintf(name, sizeof name, "read %s", files[i]);
		CHECK(rc == 0 && c.n == want[i] && inside, name, "rc %d n %zu normals %d: %s", rc, c.n, c.has_normals,
		      buf ? err : "cannot read it");
		cloud_free(&c);
		free(buf);
	}
}

static void test_hostile(void)
{
	expect_fail("huge.ply", 50000000, "ply header claims 1099511627776 vertices but the file holds 40 bytes of data");
	expect_fail("huge_ascii.ply", 50000000, "ply header claims 1099511627776 vertices but the file holds 36 bytes");
	expect_fail("huge_faces.ply", 0, "ply header claims 1099511627776 face elements but the file holds 64 bytes");
	expect_fail("huge_list.ply", 0, "ply: face 0: truncated data");
	expect_fail("truncated.ply", 0, "ply header claims 10 vertices but the file holds 60 bytes of data");
	expect_fail("truncated_face.ply", 0, "ply: face 2: truncated data");
	expect_fail("truncated_ascii.ply", 0, "ply: vertex 7: truncated data");
	expect_fail("nan.ply", 0, "ply: non-finite coordinate at vertex 3");
	expect_fail("inf.ply", 0, "ply: non-finite coordinate at vertex 2");
	expect_fail("big_double.ply", 0, "ply: non-finite coordinate at vertex 1");
	expect_fail("bad_type.ply", 0, "ply: header line 4: unknown property type 'flaot'");
	expect_fail("bad_format.ply", 0, "ply: header line 2: unknown format 'binary_middle_endian'");
	expect_fail("no_end.ply", 0, "ply: the header has no end_header line");
	expect_fail("stray_data.ply", 0, "ply: header line 5: unexpected '1'");
	expect_fail("no_xyz.ply", 0, "ply: the vertex element lacks x, y or z");
	expect_fail("no_vertex.ply", 0, "ply: no vertex element");
	expect_fail("list_x.ply", 0, "ply: vertex property x is a list");
	expect_fail("neg_list.ply", 0, "ply: face 0: bad list count");
	expect_fail("malformed.ply", 0, "ply: vertex 1: malformed number");
	expect_fail("binle.ply", 49, "ply header claims 50 vertices, more than the limit of 49 points");
	expect_fail("mixed.xyz", 0, "xyz: line 4: expected 3 numbers like the first line, found 4");
	expect_fail("two_cols.xyz", 0, "xyz: line 2: expected 3 or 6 numbers, found 2");
	expect_fail("nan.xyz", 0, "xyz: line 3: non-finite coordinate");
	expect_fail("junk.xyz", 0, "xyz: line 2: malformed number");
	expect_fail("empty.xyz", 0, "xyz: no points");
	expect_fail("three.xyz", 14, "xyz: more than 14 points, the limit");
	expect_fail("bad_shape.npy", 0, "npy: expected shape [N, 3] or [N, 6], found [4, 4]");
	expect_fail("nan.npy", 0, "npy: non-finite coordinate at point 1");
	expect_fail("f32.npy", 24, "npy: 25 points, more than the limit of 24");
}

static void test_mem(void)
{
	expect_mem("limit equal to the count passes", "1 2 3\n4 5 6\n", "a.xyz", 2, 1, 2, "");
	expect_mem("xyz without final newline", "1 2 3\n4 5 6", NULL, 0, 1, 2, "");
	expect_mem("xyz exponent and signs", "+1e3 -2.5E-1 .5\n", NULL, 0, 1, 1, "");
	expect_mem("xyz eight columns", "1 2 3 4 5 6 7 8\n", NULL, 0, 0, 0, "found more than 7");
	expect_mem("xyz overlong number", "1 2 3000000000000000000000000000000000000000000000000000000000000000\n",
	           NULL, 0, 0, 0, "xyz: line 1: malformed number");
	expect_mem("ply empty vertex element", "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n",
	           NULL, 0, 0, 0, "ply: the vertex element is empty");
	expect_mem("ply no format", "ply\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\n"
	           "end_header\n1 2 3\n", NULL, 0, 0, 0, "ply: the header has no format line");
	expect_mem("ply property before element", "ply\nformat ascii 1.0\nproperty float x\nend_header\n", NULL, 0, 0,
	           0, "ply: header line 3: property before any element");
	expect_mem("ply float list count", "ply\nformat ascii 1.0\nelement vertex 1\nproperty list float int x\n"
	           "end_header\n", NULL, 0, 0, 0, "list count type is not an integer");
	expect_mem("ply count overflow", "ply\nformat ascii 1.0\nelement vertex 99999999999999999999\nend_header\n",
	           NULL, 0, 0, 0, "ply: header line 3: bad element line");
	expect_mem("ply two vertex elements", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
	           "element vertex 1\nproperty float x\nend_header\n", NULL, 0, 0, 0, "more than one vertex element");
	expect_mem("ply partial normals are ignored", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
	           "property float y\nproperty float z\nproperty float nx\nend_header\n1 2 3 nan\n", NULL, 0, 1, 1, "");
	expect_mem("ply zero-property element of huge count", "ply\nformat binary_little_endian 1.0\n"
	           "element nothing 18446744073709551615\nelement vertex 1\nproperty uchar x\nproperty uchar y\n"
	           "property uchar z\nend_header\n\x01\x02\x03", NULL, 0, 1, 1, "");
	expect_mem("garbage", "\x7f" "ELF\x01\x02", "a.bin", 0, 0, 0, "not a point cloud");
}

int main(void)
{
	test_sniff();
	test_good();
	test_assimp();
	test_samples();
	test_hostile();
	test_mem();
	return check_done();
}
