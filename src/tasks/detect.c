/*
 * detect.c — the detect task: decodes a batch's output with the
 * manifest's decoder (detect_decode.c), keeps boxes above --conf, applies
 * --classes, class-wise NMS and --max-det, maps boxes into source pixels,
 * and adds "detections" to each record; with --draw, writes the picture too.
 */
#include "tasks/detect_decode.h"
#include "formats/draw.h"
#include "sys/msg.h"
#include "tasks/task.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum decoder_type { DECODER_YOLOV8 = 1, DECODER_YOLOV2, DECODER_BOXES };

#define MAX_ANCHORS 16

/* How to read the output (SPEC §3 decoder.type). */
struct detect_spec {
	enum decoder_type type;
	int classes;                /* 0 = from the output's shape (yolov8) or the labels */
	int n_anchors;              /* yolov2 */
	float anchors[MAX_ANCHORS][2]; /* yolov2: width, height in grid cells */
};

struct detect {
	struct detect_spec det;
	float conf, iou;            /* --conf, --iou */
	int max_det;                /* --max-det */
	const char *draw_dir;       /* --draw */
	unsigned char *keep;        /* --classes: keep[c] for c < n_keep; NULL = every class */
	int n_keep;                 /* the highest class given + 1 */
	int checked;                /* --classes checked against the number of classes */
};

/* Largest class index --classes takes (decoder.classes' own limit). */
#define MAX_CLASS 100000

/* Parses the manifest's "decoder": {"type": "yolov8"|"yolov2"|"boxes", "anchors", "classes"}. */
static int parse_decoder(json_t *d, struct detect_spec *det, char *err, size_t errlen)
{
	static const char *const types[] = {"", "yolov8", "yolov2", "boxes"};
	const char *type = json_string_value(json_object_get(d, "type"));
	json_t *anchors = json_object_get(d, "anchors"), *v;
	size_t i;

	det->type = 0;
	for (int k = 1; type && k < 4; k++)
		if (!strcmp(type, types[k]))
			det->type = (enum decoder_type)k;
	if (!json_is_object(d) || det->type == 0) {
		msg_fmt(err, errlen, "decoder.type must be yolov8, yolov2 or boxes");
		return -1;
	}
	if ((v = json_object_get(d, "classes"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000) {
			msg_fmt(err, errlen, "decoder.classes must be a positive integer");
			return -1;
		}
		det->classes = (int)json_integer_value(v);
	}
	if (det->type != DECODER_YOLOV2)
		return 0;
	if (!json_is_array(anchors) || json_array_size(anchors) < 1 || json_array_size(anchors) > MAX_ANCHORS) {
		msg_fmt(err, errlen, "decoder.anchors must be a list of 1 to %d [width, height] pairs", MAX_ANCHORS);
		return -1;
	}
	json_array_foreach(anchors, i, v) {
		json_t *w = json_array_get(v, 0), *h = json_array_get(v, 1);
		if (json_array_size(v) != 2 || !json_is_number(w) || !json_is_number(h) ||
		    json_number_value(w) <= 0 || json_number_value(h) <= 0) {
			msg_fmt(err, errlen, "decoder.anchors[%zu] must be [width, height] > 0", i);
			return -1;
		}
		det->anchors[i][0] = (float)json_number_value(w);
		det->anchors[i][1] = (float)json_number_value(h);
	}
	det->n_anchors = (int)json_array_size(anchors);
	return 0;
}

/* Box coordinates to 1/100 pixel: more would be noise. */
static double px(float v) { return round((double)v * 100.0) / 100.0; }

/* Checks the output's shape against the decoder; fills the per-image size. */
static int check_shape(const struct detect_spec *det, const int64_t *sh, int nd, int *C, char *err, size_t errlen)
{
	switch (det->type) {
	case DECODER_YOLOV8:
		if (nd != 3 || sh[1] < 5) {
			msg_fmt(err, errlen, "yolov8 decoder wants an output [batch, 4 + classes, anchors]");
			return -1;
		}
		*C = (int)sh[1] - 4;
		break;
	case DECODER_YOLOV2: {
		int na = det->n_anchors;
		if (nd != 4 || sh[1] % na || sh[1] / na < 5) {
			msg_fmt(err, errlen, "yolov2 decoder wants an output [batch, %d x (5 + classes), h, w]", na);
			return -1;
		}
		*C = (int)(sh[1] / na) - 5;
		break;
	}
	case DECODER_BOXES:
		if (nd != 3 || sh[2] != 6) {
			msg_fmt(err, errlen, "boxes decoder wants an output [batch, boxes, 6]");
			return -1;
		}
		*C = 0;
		break;
	default:
		msg_fmt(err, errlen, "task detect needs a decoder in the manifest (\"decoder\": {\"type\": ...})");
		return -1;
	}
	if (det->classes && *C && det->classes != *C) {
		msg_fmt(err, errlen, "output holds %d classes, the manifest says %d", *C, det->classes);
		return -1;
	}
	return 0;
}

/* Writes item it's picture with its boxes; sets "drawn" or "draw_error". */
static void draw(const struct task *t, const struct task_item *it, const struct det_list *l)
{
	struct draw_box *b = malloc(((size_t)l->n + 1) * sizeof *b);
	char path[4096], err[ERRLEN];
	int png = it->img->format == IMAGE_PNG;
	if (!b)
		return;
	for (int i = 0; i < l->n; i++) {
		const struct det *d = &l->d[i];
		b[i] = (struct draw_box){d->x1, d->y1, d->x2, d->y2, d->score, d->cls,
		                         d->cls < t->spec->n_labels ? t->spec->labels[d->cls] : NULL};
	}
	task_file_name(path, sizeof path, ((const struct detect *)t->state)->draw_dir, it->index, it->name,
	               png ? ".png" : ".jpg");
	if (draw_detections(it->img, b, l->n, png ? IMAGE_PNG : IMAGE_JPEG, path, err, sizeof err) == 0)
		json_object_set_new(it->rec, "drawn", json_string(path));
	else
		json_object_set_new(it->rec, "draw_error", json_string(err));
	free(b);
}

/* "face, person, ..." : the first labels of the model, or "0..N-1", for a message. */
static void class_names(char *buf, size_t len, const struct model_spec *spec, int n)
{
	enum { SHOWN = 12 };
	buf[0] = '\0';
	if (!spec->n_labels) {
		if (n > 0)
			snprintf(buf, len, "indices 0 to %d", n - 1);
		else
			snprintf(buf, len, "indices only: the model has no labels");
		return;
	}
	for (int i = 0; i < spec->n_labels && i < SHOWN; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", spec->labels[i]);
	if (spec->n_labels > SHOWN)
		snprintf(buf + strlen(buf), len - strlen(buf), ", ... (%d labels, or indices 0 to %d)", spec->n_labels,
		         spec->n_labels - 1);
}

/*
 * Parses --classes LIST into d->keep: each comma-separated item is a label
 * of the model (a label wins over an index spelled the same) or a class
 * index.  n is the number of classes when the manifest tells it (its
 * labels or decoder.classes), else 0 and indices are checked against the
 * first output.  Returns 0, or -1 with a reason naming the item and the
 * valid classes: empty items, unknown labels, indices out of range and
 * classes given twice are refused.
 */
static int parse_classes(struct detect *d, const struct model_spec *spec, const char *list, int n, char *err,
                         size_t errlen)
{
	char valid[512];
	const char *p = list;

	class_names(valid, sizeof valid, spec, n);
	if (!(d->keep = calloc(MAX_CLASS + 1, 1))) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		char item[256], *end;
		long idx = -1;
		if (len == 0) {
			msg_fmt(err, errlen, "--classes '%s': empty item (give labels or indices separated by single commas)",
			        list);
			return -1;
		}
		snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
		for (int i = 0; len < sizeof item && i < spec->n_labels; i++)
			if (!strcmp(item, spec->labels[i])) {
				idx = i;
				break;
			}
		if (idx < 0 && len < sizeof item && item[0] >= '0' && item[0] <= '9') {
			errno = 0;
			idx = strtol(item, &end, 10);
			if (*end || errno || idx > MAX_CLASS || (n > 0 && idx >= n))
				idx = -1;
		}
		if (idx < 0) {
			msg_fmt(err, errlen, "--classes: model '%s' has no class '%s' (valid: %s)", spec->name, item, valid);
			return -1;
		}
		if (d->keep[idx]) {
			msg_fmt(err, errlen, "--classes: class %ld%s%s%s is given twice", idx,
			        idx < spec->n_labels ? " ('" : "", idx < spec->n_labels ? spec->labels[idx] : "",
			        idx < spec->n_labels ? "')" : "");
			return -1;
		}
		d->keep[idx] = 1;
		if (idx + 1 > d->n_keep)
			d->n_keep = (int)idx + 1;
		if (!p[len])
			break;
		p += len + 1;
	}
	d->checked = n > 0;
	return 0;
}

/* Drops the detections of classes --classes does not keep. */
static void keep_classes(const struct detect *c, struct det_list *l)
{
	int k = 0;
	for (int i = 0; i < l->n; i++)
		if (l->d[i].cls >= 0 && l->d[i].cls < c->n_keep && c->keep[l->d[i].cls])
			l->d[k++] = l->d[i];
	l->n = k;
}

static int detect_open(struct task *t, const struct opts *o, char *err, size_t errlen)
{
	struct detect *d = calloc(1, sizeof *d);
	json_t *dec = json_object_get(t->spec->entry, "decoder");
	char why[ERRLEN];
	double v;

	if (!d) {
		msg_fmt(err, errlen, "out of memory");
		return EXIT_OOM;
	}
	t->state = d;
	if (!dec) {
		msg_fmt(err, errlen, "model '%s': task detect needs a decoder in its manifest entry "
		        "(\"decoder\": {\"type\": \"yolov8\"})", t->spec->name);
		return EXIT_MODEL;
	}
	if (parse_decoder(dec, &d->det, why, sizeof why) < 0) {
		msg_fmt(err, errlen, "model '%s': %s", t->spec->name, why);
		return EXIT_MODEL;
	}
	if (task_knob(t, "conf", o->conf >= 0, o->conf, 0.25, 0, 1, 0, &v, err, errlen) < 0)
		return EXIT_MODEL;
	d->conf = (float)v;
	if (task_knob(t, "iou", o->iou >= 0, o->iou, 0.45, 0, 1, 0, &v, err, errlen) < 0)
		return EXIT_MODEL;
	d->iou = (float)v;
	if (task_knob(t, "max_det", o->max_det > 0, (double)o->max_det, 300, 1, 1000000, 1, &v, err, errlen) < 0)
		return EXIT_MODEL;
	d->max_det = (int)v;
	d->draw_dir = o->draw_dir;
	t->keep_images = o->draw_dir != NULL;
	if (o->classes && parse_classes(d, t->spec, o->classes, d->det.classes ? d->det.classes : t->spec->n_labels,
	                                err, errlen) < 0)
		return EXIT_USAGE;
	return 0;
}

static void detect_close(struct task *t)
{
	struct detect *d = t->state;
	if (d)
		free(d->keep);
	free(d);
}

static int detect_post(struct task *t, const tch_value *out, struct task_item *items, int n, char *err,
                       size_t errlen)
{
	struct detect *c = t->state;
	const struct detect_spec *det = &c->det;
	int64_t sh[8];
	int C = 0, nd = t->T->tch_tensor_shape(out, sh, 8);
	size_t per = 1;
	float *v;

	if (t->T->tch_value_kind(out) != TCH_TENSOR || nd < 1) {
		msg_fmt(err, errlen, "model output is not a tensor (task detect)");
		return -1;
	}
	if (check_shape(det, sh, nd, &C, err, errlen) < 0 || !(v = task_float_rows(t, out, n, nd, sh, err, errlen)))
		return -1;
	if (c->keep && !c->checked && det->type != DECODER_BOXES) {
		/* the manifest did not say how many classes: the output does (no class channel: one) */
		int have = C ? C : 1;
		if (c->n_keep > have) {
			char valid[512];
			class_names(valid, sizeof valid, t->spec, have);
			msg_fmt(err, errlen, "--classes: the model has no class %d (valid: %s)", c->n_keep - 1, valid);
			t->status = EXIT_USAGE;
			free(v);
			return -1;
		}
		c->checked = 1;
	}
	for (int d = 1; d < nd; d++)
		per *= (size_t)sh[d];
	for (int i = 0; i < n; i++) {
		const float *o = v + per * (size_t)i;
		struct det_list l = {0};
		json_t *arr;
		int rc;
		if (task_fail_nonfinite(&items[i], o, per))
			continue;
		if (det->type == DECODER_YOLOV8)
			rc = detect_yolov8(o, C, (int)sh[2], c->conf, &l);
		else if (det->type == DECODER_YOLOV2)
			rc = detect_yolov2(o, det->n_anchors, (const float(*)[2])det->anchors, C, (int)sh[2], (int)sh[3],
			                   t->spec->pre.width, t->spec->pre.height, c->conf, &l);
		else
			rc = detect_boxes(o, (int)sh[1], c->conf, &l);
		if (rc == 0 && c->keep) /* before NMS and --max-det: the kept classes fill max-det */
			keep_classes(c, &l);
		if (rc < 0 || detect_nms(&l, c->iou, c->max_det) < 0) {
			det_list_free(&l);
			free(v);
			msg_fmt(err, errlen, "out of memory decoding detections");
			return -1;
		}
		if (items[i].geo)
			detect_unmap(&l, items[i].geo);
		arr = json_array();
		for (int k = 0; k < l.n; k++) {
			const struct det *d = &l.d[k];
			json_array_append_new(
				arr, json_pack("{s:[f,f,f,f], s:f, s:i, s:o}", "box", px(d->x1), px(d->y1),
			                       px(d->x2), px(d->y2), "score", (double)d->score, "class", d->cls,
			                       "label", task_label(t, d->cls)));
		}
		json_object_set_new(items[i].rec, "detections", arr);
		if (c->draw_dir && items[i].img)
			draw(t, &items[i], &l);
		det_list_free(&l);
	}
	free(v);
	return 0;
}

const struct task_def detect_task = {
	.name = "detect",
	.inputs = TASK_IN_IMAGE | TASK_IN_TENSOR,
	.options = (const char *const[]){"conf", "iou", "max-det", "classes", "draw", NULL},
	.keys = (const char *const[]){"decoder", NULL},
	.default_keys = (const char *const[]){"conf", "iou", "max_det", NULL},
	.open = detect_open,
	.close = detect_close,
	.post = detect_post,
};
