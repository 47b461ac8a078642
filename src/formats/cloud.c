/*
 * cloud.c — point-cloud readers (see cloud.h).
 *
 * The PLY header is parsed line by line within the buffer into a small table
 * of elements and properties; the body is then walked element by element with
 * one cursor that reads either whitespace-separated ascii tokens or binary
 * values of either byte order.  Before the vertex arrays are allocated, the
 * counts the header claims are checked against the bytes that follow it.
 */
#include "formats/cloud.h"
#include "sys/msg.h"
#include "formats/npy.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A number token longer than this is malformed (the longest %.17g is 24). */
#define NUM_MAX 63

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Parses the n bytes at s (no NUL needed) as one whole strtod number.  Returns
 * false when it is empty, too long or not entirely a number.
 */
static bool parse_num(const char *s, size_t n, double *v)
{
	char tmp[NUM_MAX + 1];
	char *end;

	if (n == 0 || n > NUM_MAX)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*v = strtod(tmp, &end);
	return end == tmp + n;
}

/* Converts v to a finite float; false when it is not finite or out of float range. */
static bool to_float(double v, float *f)
{
	if (!(v >= -FLT_MAX && v <= FLT_MAX))
		return false;
	*f = (float)v;
	return true;
}

/* Copies up to 31 bytes of s into out for a message, '?' for unprintable ones. */
static const char *printable(const char *s, size_t n, char out[32])
{
	size_t i;

	if (n > 31)
		n = 31;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[n] = '\0';
	return out;
}

/*
 * Allocates c->xyz (and c->nrm when normals) for n points.  Returns 0, or -1
 * with err set when n * 3 floats cannot be represented or allocated.
 */
static int cloud_alloc(struct cloud *c, size_t n, int normals, const char *fmt, char *err, size_t errlen)
{
	if (n > SIZE_MAX / (3 * sizeof(float))) {
		msg_fmt(err, errlen, "%s: %zu points do not fit in memory", fmt, n);
		return -1;
	}
	c->xyz = malloc(n * 3 * sizeof(float));
	c->nrm = normals ? malloc(n * 3 * sizeof(float)) : NULL;
	if (!c->xyz || (normals && !c->nrm)) {
		msg_fmt(err, errlen, "%s: out of memory for %zu points", fmt, n);
		return -1;
	}
	c->n = n;
	c->has_normals = normals;
	return 0;
}

void cloud_free(struct cloud *c)
{
	if (!c)
		return;
	free(c->xyz);
	free(c->nrm);
	memset(c, 0, sizeof *c);
}

/* ---- PLY ------------------------------------------------------------------ */

enum ply_type { PT_NONE = 0, PT_I8, PT_U8, PT_I16, PT_U16, PT_I32, PT_U32, PT_F32, PT_F64 };
enum ply_fmt { PLY_ASCII, PLY_LE, PLY_BE };

static const struct {
	const char *name;
	enum ply_type type;
} PLY_TYPES[] = {
	{"char", PT_I8}, {"uchar", PT_U8}, {"short", PT_I16}, {"ushort", PT_U16},
	{"int", PT_I32}, {"uint", PT_U32}, {"float", PT_F32}, {"double", PT_F64},
	{"int8", PT_I8}, {"uint8", PT_U8}, {"int16", PT_I16}, {"uint16", PT_U16},
	{"int32", PT_I32}, {"uint32", PT_U32}, {"float32", PT_F32}, {"float64", PT_F64},
};

static size_t ply_size(enum ply_type t)
{
	switch (t) {
	case PT_I8: case PT_U8: return 1;
	case PT_I16: case PT_U16: return 2;
	case PT_I32: case PT_U32: case PT_F32: return 4;
	case PT_F64: return 8;
	default: return 0;
	}
}

#define PLY_MAX_ELEMS 64
#define PLY_MAX_PROPS 256       /* over all elements */
#define PLY_NAME_MAX 32         /* longer names are cut; they never match x, nx, ... */

struct ply_prop {
	enum ply_type type;         /* scalar type, or the item type of a list */
	enum ply_type count_type;   /* PT_NONE for a scalar */
	char name[PLY_NAME_MAX];
};

struct ply_elem {
	char name[PLY_NAME_MAX];
	uint64_t count;
	int first, nprops;          /* props[first .. first + nprops) */
};

struct ply_header {
	enum ply_fmt fmt;
	size_t data;                /* offset of the body */
	int nelems, nprops;
	struct ply_elem elems[PLY_MAX_ELEMS];
	struct ply_prop props[PLY_MAX_PROPS];
};

/* Splits the next space- or tab-separated word off [*p, end). */
static bool next_word(const char **p, const char *end, const char **w, size_t *n)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*n = (size_t)(s - *w);
	*p = s;
	return *n > 0;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

static enum ply_type ply_type_of(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof PLY_TYPES / sizeof PLY_TYPES[0]; i++)
		if (word_is(w, n, PLY_TYPES[i].name))
			return PLY_TYPES[i].type;
	return PT_NONE;
}

static void copy_name(char dst[PLY_NAME_MAX], const char *w, size_t n)
{
	if (n >= PLY_NAME_MAX)
		n = PLY_NAME_MAX - 1;
	memcpy(dst, w, n);
	dst[n] = '\0';
}

/* Parses a decimal count of at most UINT64_MAX; false on anything else. */
static bool parse_count(const char *w, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)w[i] - '0';
		if (d > 9 || *v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

/*
 * Parses the header of the PLY file in buf into *h.  Returns 0, or -1 with err
 * set (the message names the header line).
 */
static int ply_parse_header(const unsigned char *buf, size_t len, struct ply_header *h, char *err,
                            size_t errlen)
{
	const char *text = (const char *)buf, *end = text + len, *p = text;
	int lineno = 0;
	bool have_format = false;
	char shown[32];

	memset(h, 0, sizeof *h);
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le, *q, *w;
		size_t n;

		if (!nl) {
			msg_fmt(err, errlen, "ply: the header has no end_header line");
			return -1;
		}
		le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		q = p;
		p = nl + 1;
		lineno++;
		if (!next_word(&q, le, &w, &n))
			continue;
		if (lineno == 1) {
			if (!word_is(w, n, "ply")) {
				msg_fmt(err, errlen, "ply: not a ply file");
				return -1;
			}
			continue;
		}
		if (word_is(w, n, "comment") || word_is(w, n, "obj_info"))
			continue;
		if (word_is(w, n, "end_header"))
			break;
		if (word_is(w, n, "format")) {
			if (have_format || !next_word(&q, le, &w, &n)) {
				msg_fmt(err, errlen, "ply: header line %d: bad format line", lineno);
				return -1;
			}
			if (word_is(w, n, "ascii"))
				h->fmt = PLY_ASCII;
			else if (word_is(w, n, "binary_little_endian"))
				h->fmt = PLY_LE;
			else if (word_is(w, n, "binary_big_endian"))
				h->fmt = PLY_BE;
			else {
				msg_fmt(err, errlen, "ply: header line %d: unknown format '%s'", lineno,
				        printable(w, n, shown));
				return -1;
			}
			have_format = true;
		} else if (word_is(w, n, "element")) {
			struct ply_elem *e;
			const char *cw;
			size_t cn;

			if (h->nelems == PLY_MAX_ELEMS) {
				msg_fmt(err, errlen, "ply: more than %d elements", PLY_MAX_ELEMS);
				return -1;
			}
			e = &h->elems[h->nelems];
			if (!next_word(&q, le, &w, &n) || !next_word(&q, le, &cw, &cn) ||
			    !parse_count(cw, cn, &e->count)) {
				msg_fmt(err, errlen, "ply: header line %d: bad element line", lineno);
				return -1;
			}
			copy_name(e->name, w, n);
			e->first = h->nprops;
			h->nelems++;
		} else if (word_is(w, n, "property")) {
			struct ply_prop *pr;

			if (h->nelems == 0) {
				msg_fmt(err, errlen, "ply: header line %d: property before any element", lineno);
				return -1;
			}
			if (h->nprops == PLY_MAX_PROPS) {
				msg_fmt(err, errlen, "ply: more than %d properties", PLY_MAX_PROPS);
				return -1;
			}
			pr = &h->props[h->nprops];
			if (!next_word(&q, le, &w, &n))
				goto bad_property;
			if (word_is(w, n, "list")) {
				if (!next_word(&q, le, &w, &n))
					goto bad_property;
				pr->count_type = ply_type_of(w, n);
				if (pr->count_type == PT_F32 || pr->count_type == PT_F64) {
					msg_fmt(err, errlen, "ply: header line %d: list count type is not an integer",
					        lineno);
					return -1;
				}
				if (pr->count_type == PT_NONE)
					goto bad_type;
				if (!next_word(&q, le, &w, &n))
					goto bad_property;
			}
			pr->type = ply_type_of(w, n);
			if (pr->type == PT_NONE)
				goto bad_type;
			if (!next_word(&q, le, &w, &n))
				goto bad_property;
			copy_name(pr->name, w, n);
			h->nprops++;
			h->elems[h->nelems - 1].nprops++;
		} else {
			msg_fmt(err, errlen, "ply: header line %d: unexpected '%s'", lineno, printable(w, n, shown));
			return -1;
		}
		continue;
bad_type:
		msg_fmt(err, errlen, "ply: header line %d: unknown property type '%s'", lineno,
		        printable(w, n, shown));
		return -1;
bad_property:
		msg_fmt(err, errlen, "ply: header line %d: bad property line", lineno);
		return -1;
	}
	if (!have_format) {
		msg_fmt(err, errlen, "ply: the header has no format line");
		return -1;
	}
	h->data = (size_t)(p - text);
	return 0;
}

/* A cursor over the body. */
struct ply_rd {
	const unsigned char *p, *end;
	enum ply_fmt fmt;
};

enum { RD_OK = 0, RD_TRUNCATED = -1, RD_MALFORMED = -2, RD_BADCOUNT = -3 };

/* Finds the next ascii token; false at the end of the data. */
static bool rd_token(struct ply_rd *r, const char **tok, size_t *n)
{
	const unsigned char *s = r->p;

	while (s < r->end && is_space(*s))
		s++;
	*tok = (const char *)s;
	while (s < r->end && !is_space(*s))
		s++;
	*n = (size_t)((const char *)s - *tok);
	r->p = s;
	return *n > 0;
}

/* Reads one value of type t as a double.  Returns an RD_ code. */
static int rd_value(struct ply_rd *r, enum ply_type t, double *v)
{
	size_t sz = ply_size(t), i;
	uint64_t u = 0;

	if (r->fmt == PLY_ASCII) {
		const char *tok;
		size_t n;

		if (!rd_token(r, &tok, &n))
			return RD_TRUNCATED;
		return parse_num(tok, n, v) ? RD_OK : RD_MALFORMED;
	}
	if ((size_t)(r->end - r->p) < sz)
		return RD_TRUNCATED;
	for (i = 0; i < sz; i++)
		u |= (uint64_t)r->p[r->fmt == PLY_LE ? i : sz - 1 - i] << (8 * i);
	r->p += sz;
	switch (t) {
	case PT_I8: *v = (int8_t)(uint8_t)u; break;
	case PT_U8: *v = (uint8_t)u; break;
	case PT_I16: *v = (int16_t)(uint16_t)u; break;
	case PT_U16: *v = (uint16_t)u; break;
	case PT_I32: *v = (int32_t)(uint32_t)u; break;
	case PT_U32: *v = (uint32_t)u; break;
	case PT_F32: {
		uint32_t b = (uint32_t)u;
		float f;
		memcpy(&f, &b, 4);
		*v = f;
		break;
	}
	case PT_F64: memcpy(v, &u, 8); break;
	default: return RD_MALFORMED;
	}
	return RD_OK;
}

/* Skips one value of type t without converting it.  Returns an RD_ code. */
static int rd_skip(struct ply_rd *r, enum ply_type t)
{
	size_t sz = ply_size(t);

	if (r->fmt == PLY_ASCII) {
		const char *tok;
		size_t n;
		return rd_token(r, &tok, &n) ? RD_OK : RD_TRUNCATED;
	}
	if ((size_t)(r->end - r->p) < sz)
		return RD_TRUNCATED;
	r->p += sz;
	return RD_OK;
}

/* Skips one list property (its count, then its items).  Returns an RD_ code. */
static int rd_skip_list(struct ply_rd *r, const struct ply_prop *pr)
{
	double c;
	uint64_t n, i;
	int rc = rd_value(r, pr->count_type, &c);

	if (rc != RD_OK)
		return rc;
	if (!(c >= 0 && c <= 4294967295.0) || c != floor(c))
		return RD_BADCOUNT;
	n = (uint64_t)c;
	if (r->fmt != PLY_ASCII) {
		if (n > (uint64_t)(r->end - r->p) / ply_size(pr->type))
			return RD_TRUNCATED;
		r->p += n * ply_size(pr->type);
		return RD_OK;
	}
	for (i = 0; i < n; i++)
		if ((rc = rd_skip(r, pr->type)) != RD_OK)
			return rc;
	return RD_OK;
}

static void ply_rd_error(int rc, const char *elem, uint64_t i, char *err, size_t errlen)
{
	const char *why = rc == RD_TRUNCATED ? "truncated data"
	                  : rc == RD_BADCOUNT ? "bad list count" : "malformed number";
	char shown[32];

	msg_fmt(err, errlen, "ply: %s %llu: %s", printable(elem, strlen(elem), shown), (unsigned long long)i, why);
}

/* Skips every instance of element e.  Returns 0, or -1 with err set. */
static int ply_skip_elem(struct ply_rd *r, const struct ply_header *h, const struct ply_elem *e, char *err,
                         size_t errlen)
{
	uint64_t i;
	int j, rc;

	if (e->nprops == 0)
		return 0;
	for (i = 0; i < e->count; i++)
		for (j = 0; j < e->nprops; j++) {
			const struct ply_prop *pr = &h->props[e->first + j];
			rc = pr->count_type != PT_NONE ? rd_skip_list(r, pr) : rd_skip(r, pr->type);
			if (rc != RD_OK) {
				ply_rd_error(rc, e->name, i, err, errlen);
				return -1;
			}
		}
	return 0;
}

/* Fewest bytes one instance of e can take in a binary body. */
static size_t ply_min_record(const struct ply_header *h, const struct ply_elem *e)
{
	size_t sum = 0;
	int j;

	for (j = 0; j < e->nprops; j++) {
		const struct ply_prop *pr = &h->props[e->first + j];
		sum += ply_size(pr->count_type != PT_NONE ? pr->count_type : pr->type);
	}
	return sum;
}

/*
 * Checks the counts of the elements up to and including the vertex element
 * (index v) against the avail bytes of the body, so that nothing is allocated
 * for a count the file cannot hold.  Returns 0, or -1 with err set.
 */
static int ply_check_counts(const struct ply_header *h, int v, size_t avail, char *err, size_t errlen)
{
	const struct ply_elem *ve = &h->elems[v];
	uint64_t need = 0;
	int i;

	if (h->fmt == PLY_ASCII) {
		/* Each property takes at least one token of one byte and a separator. */
		uint64_t per = 2 * (uint64_t)ve->nprops;
		if (ve->count > ((uint64_t)avail + 1) / per)
			goto claims;
		return 0;
	}
	for (i = 0; i <= v; i++) {
		const struct ply_elem *e = &h->elems[i];
		uint64_t min = ply_min_record(h, e);
		if (min == 0)
			continue;
		if (e->count > ((uint64_t)avail - need) / min) {
			if (i != v) {
				msg_fmt(err, errlen, "ply header claims %llu %s elements but the file holds %zu bytes of data",
				        (unsigned long long)e->count, e->name, avail);
				return -1;
			}
			goto claims;
		}
		need += e->count * min;
	}
	return 0;
claims:
	msg_fmt(err, errlen, "ply header claims %llu vertices but the file holds %zu bytes of data",
	        (unsigned long long)ve->count, avail);
	return -1;
}

/* Reads the vertex element e into out.  Returns 0, or -1 with err set. */
static int ply_read_vertices(struct ply_rd *r, const struct ply_header *h, const struct ply_elem *e,
                             struct cloud *out, char *err, size_t errlen)
{
	static const char *const ROLE[6] = {"x", "y", "z", "nx", "ny", "nz"};
	int role[PLY_MAX_PROPS], found[6], j, k;
	uint64_t i;

	for (k = 0; k < 6; k++)
		found[k] = -1;
	for (j = 0; j < e->nprops; j++) {
		const struct ply_prop *pr = &h->props[e->first + j];
		role[j] = -1;
		for (k = 0; k < 6; k++)
			if (found[k] < 0 && strcmp(pr->name, ROLE[k]) == 0) {
				if (pr->count_type != PT_NONE) {
					msg_fmt(err, errlen, "ply: vertex property %s is a list", ROLE[k]);
					return -1;
				}
				found[k] = j;
				role[j] = k;
			}
	}
	if (found[0] < 0 || found[1] < 0 || found[2] < 0) {
		msg_fmt(err, errlen, "ply: the vertex element lacks x, y or z");
		return -1;
	}
	if (found[3] < 0 || found[4] < 0 || found[5] < 0)
		for (k = 3; k < 6; k++)
			if (found[k] >= 0) {
				role[found[k]] = -1;
				found[k] = -1;
			}
	if (cloud_alloc(out, (size_t)e->count, found[3] >= 0, "ply", err, errlen) < 0)
		return -1;
	for (i = 0; i < e->count; i++) {
		double val[6] = {0};
		float f[6];
		for (j = 0; j < e->nprops; j++) {
			const struct ply_prop *pr = &h->props[e->first + j];
			double v;
			int rc;

			if (pr->count_type != PT_NONE)
				rc = rd_skip_list(r, pr);
			else if (role[j] < 0)
				rc = rd_skip(r, pr->type);
			else if ((rc = rd_value(r, pr->type, &v)) == RD_OK)
				val[role[j]] = v;
			if (rc != RD_OK) {
				ply_rd_error(rc, "vertex", i, err, errlen);
				return -1;
			}
		}
		for (k = 0; k < (out->has_normals ? 6 : 3); k++)
			if (!to_float(val[k], &f[k])) {
				msg_fmt(err, errlen, "ply: non-finite %s at vertex %llu", k < 3 ? "coordinate" : "normal",
				        (unsigned long long)i);
				return -1;
			}
		memcpy(out->xyz + 3 * i, f, 3 * sizeof(float));
		if (out->has_normals)
			memcpy(out->nrm + 3 * i, f + 3, 3 * sizeof(float));
	}
	return 0;
}

/* Reads a whole PLY file.  Returns 0, or -1 with err set and out possibly half filled. */
static int ply_read(const unsigned char *buf, size_t len, size_t max_points, struct cloud *out, char *err,
                    size_t errlen)
{
	struct ply_header *h = malloc(sizeof *h);
	struct ply_rd r;
	int i, v = -1, rc = -1;

	if (!h) {
		msg_fmt(err, errlen, "ply: out of memory");
		return -1;
	}
	if (ply_parse_header(buf, len, h, err, errlen) < 0)
		goto done;
	for (i = 0; i < h->nelems; i++)
		if (strcmp(h->elems[i].name, "vertex") == 0) {
			if (v >= 0) {
				msg_fmt(err, errlen, "ply: more than one vertex element");
				goto done;
			}
			v = i;
		}
	if (v < 0) {
		msg_fmt(err, errlen, "ply: no vertex element");
		goto done;
	}
	if (h->elems[v].count == 0 || h->elems[v].nprops == 0) {
		msg_fmt(err, errlen, "ply: the vertex element is empty");
		goto done;
	}
	if (ply_check_counts(h, v, len - h->data, err, errlen) < 0)
		goto done;
	if (max_points && h->elems[v].count > max_points) {
		msg_fmt(err, errlen, "ply header claims %llu vertices, more than the limit of %zu points",
		        (unsigned long long)h->elems[v].count, max_points);
		goto done;
	}
	r.p = buf + h->data;
	r.end = buf + len;
	r.fmt = h->fmt;
	for (i = 0; i < h->nelems; i++) {
		if (i == v ? ply_read_vertices(&r, h, &h->elems[i], out, err, errlen) < 0
		           : ply_skip_elem(&r, h, &h->elems[i], err, errlen) < 0)
			goto done;
	}
	rc = 0;
done:
	free(h);
	return rc;
}

/* ---- XYZ ------------------------------------------------------------------ */

/* Grows out to hold at least n + 1 points.  Returns 0, or -1 with err set. */
static int xyz_grow(struct cloud *out, size_t *cap, size_t max_points, char *err, size_t errlen)
{
	size_t ncap;
	float *p;

	if (max_points && out->n >= max_points) {
		msg_fmt(err, errlen, "xyz: more than %zu points, the limit", max_points);
		return -1;
	}
	if (out->n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4096;
	if (max_points && ncap > max_points)
		ncap = max_points;
	if (ncap > SIZE_MAX / (3 * sizeof(float))) {
		msg_fmt(err, errlen, "xyz: too many points");
		return -1;
	}
	if (!(p = realloc(out->xyz, ncap * 3 * sizeof(float))))
		goto oom;
	out->xyz = p;
	if (out->has_normals) {
		if (!(p = realloc(out->nrm, ncap * 3 * sizeof(float))))
			goto oom;
		out->nrm = p;
	}
	*cap = ncap;
	return 0;
oom:
	msg_fmt(err, errlen, "xyz: out of memory for %zu points", ncap);
	return -1;
}

/* Reads whitespace text, x y z [nx ny nz] per line.  Returns 0, or -1 with err set. */
static int xyz_read(const unsigned char *buf, size_t len, size_t max_points, struct cloud *out, char *err,
                    size_t errlen)
{
	const char *p = (const char *)buf, *end = p + len;
	size_t lineno = 0, cap = 0;
	int cols = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *hash, *tok;
		double v[7];
		float f[6];
		int nc = 0, k;

		lineno++;
		hash = memchr(p, '#', (size_t)(le - p));
		if (hash)
			le = hash;
		for (;;) {
			while (p < le && is_space((unsigned char)*p))
				p++;
			if (p == le)
				break;
			tok = p;
			while (p < le && !is_space((unsigned char)*p))
				p++;
			if (nc == 7) {
				nc++;
				break;
			}
			if (!parse_num(tok, (size_t)(p - tok), &v[nc])) {
				msg_fmt(err, errlen, "xyz: line %zu: malformed number", lineno);
				return -1;
			}
			nc++;
		}
		p = nl ? nl + 1 : end;
		if (nc == 0)
			continue;
		if (cols == 0) {
			if (nc != 3 && nc != 6) {
				msg_fmt(err, errlen, "xyz: line %zu: expected 3 or 6 numbers, found %s%d", lineno,
				        nc > 7 ? "more than " : "", nc > 7 ? 7 : nc);
				return -1;
			}
			cols = nc;
			out->has_normals = cols == 6;
		} else if (nc != cols) {
			msg_fmt(err, errlen, "xyz: line %zu: expected %d numbers like the first line, found %s%d",
			        lineno, cols, nc > 7 ? "more than " : "", nc > 7 ? 7 : nc);
			return -1;
		}
		for (k = 0; k < cols; k++)
			if (!to_float(v[k], &f[k])) {
				msg_fmt(err, errlen, "xyz: line %zu: non-finite %s", lineno,
				        k < 3 ? "coordinate" : "normal");
				return -1;
			}
		if (xyz_grow(out, &cap, max_points, err, errlen) < 0)
			return -1;
		for (k = 0; k < 3; k++) {
			out->xyz[3 * out->n + k] = f[k];
			if (cols == 6)
				out->nrm[3 * out->n + k] = f[3 + k];
		}
		out->n++;
	}
	if (out->n == 0) {
		msg_fmt(err, errlen, "xyz: no points");
		return -1;
	}
	return 0;
}

/* ---- NPY ------------------------------------------------------------------ */


/* Reads a .npy [N, 3] or [N, 6] of any numeric dtype.  Returns 0, or -1 with err set. */
static int npy_cloud_read(const unsigned char *buf, size_t len, size_t max_points, struct cloud *out,
                          char *err, size_t errlen)
{
	struct npy a;
	size_t n, i, cols;
	int k, rc = -1;

	if (npy_parse(buf, len, &a, err, errlen) < 0)
		return -1;
	if (a.ndim != 2 || (a.shape[1] != 3 && a.shape[1] != 6)) {
		if (a.ndim == 2)
			msg_fmt(err, errlen, "npy: expected shape [N, 3] or [N, 6], found [%lld, %lld]",
			        (long long)a.shape[0], (long long)a.shape[1]);
		else
			msg_fmt(err, errlen, "npy: expected shape [N, 3] or [N, 6], found %d dimensions", a.ndim);
		goto done;
	}
	if (a.dtype == NPY_BOOL) {
		msg_fmt(err, errlen, "npy: bool arrays are not coordinates");
		goto done;
	}
	n = (size_t)a.shape[0];
	cols = (size_t)a.shape[1];
	if (n == 0) {
		msg_fmt(err, errlen, "npy: no points");
		goto done;
	}
	if (max_points && n > max_points) {
		msg_fmt(err, errlen, "npy: %zu points, more than the limit of %zu", n, max_points);
		goto done;
	}
	if (cloud_alloc(out, n, cols == 6, "npy", err, errlen) < 0)
		goto done;
	for (i = 0; i < n; i++)
		for (k = 0; k < (int)cols; k++) {
			float f;
			if (!to_float(npy_get(&a, i * cols + (size_t)k), &f)) {
				msg_fmt(err, errlen, "npy: non-finite %s at point %zu", k < 3 ? "coordinate" : "normal", i);
				goto done;
			}
			if (k < 3)
				out->xyz[3 * i + (size_t)k] = f;
			else
				out->nrm[3 * i + (size_t)k - 3] = f;
		}
	rc = 0;
done:
	npy_free(&a);
	return rc;
}

/* ---- entry points --------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum cloud_format cloud_sniff(const unsigned char *buf, size_t len, const char *name)
{
	size_t i, look = len < 256 ? len : 256;

	if (len >= 4 && (memcmp(buf, "ply\n", 4) == 0 || (len >= 5 && memcmp(buf, "ply\r\n", 5) == 0)))
		return CLOUD_PLY;
	if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0)
		return CLOUD_NPY;
	if (name && (ends_with(name, ".xyz") || ends_with(name, ".txt")))
		return CLOUD_XYZ;
	for (i = 0; i < look; i++)
		if (!is_space(buf[i]) && (buf[i] < 0x20 || buf[i] >= 0x7f))
			return CLOUD_UNKNOWN;
	for (i = 0; i < len && is_space(buf[i]); i++)
		;
	if (i < len && (strchr("0123456789+-.#", buf[i]) != NULL && buf[i] != '\0'))
		return CLOUD_XYZ;
	return CLOUD_UNKNOWN;
}

int cloud_read(const unsigned char *buf, size_t len, const char *name, size_t max_points,
               struct cloud *out, char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	switch (cloud_sniff(buf, len, name)) {
	case CLOUD_PLY: rc = ply_read(buf, len, max_points, out, err, errlen); break;
	case CLOUD_XYZ: rc = xyz_read(buf, len, max_points, out, err, errlen); break;
	case CLOUD_NPY: rc = npy_cloud_read(buf, len, max_points, out, err, errlen); break;
	default:
		msg_fmt(err, errlen, "not a point cloud (expected ply, xyz/txt or npy)");
		rc = -1;
	}
	if (rc < 0)
		cloud_free(out);
	return rc;
}
