/*
 * detect_task.c — the detect task: decodes a batch's output with the
 * manifest's decoder (detect.c), keeps boxes above --conf, applies
 * class-wise NMS and --max-det, maps boxes into source pixels, and adds
 * "detections" to each record; with --draw, writes the picture too.
 */
#include "detect.h"
#include "draw.h"
#include "msg.h"
#include "task.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Box coordinates to 1/100 pixel: more would be noise. */
static double px(float v) { return round((double)v * 100.0) / 100.0; }

/* Checks the output's shape against the decoder; fills the per-image size. */
static int check_shape(const struct task_ctx *c, const int64_t *sh, int nd, int *C, char *err, size_t errlen)
{
	const struct detect_spec *det = &c->spec->det;
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
static void draw(const struct task_ctx *c, const struct task_item *it, const struct det_list *l)
{
	struct draw_box *b = malloc(((size_t)l->n + 1) * sizeof *b);
	char path[4096], err[ERRLEN];
	int png = it->img->format == IMAGE_PNG;
	if (!b)
		return;
	for (int i = 0; i < l->n; i++) {
		const struct det *d = &l->d[i];
		b[i] = (struct draw_box){d->x1, d->y1, d->x2, d->y2, d->score, d->cls,
		                         d->cls < c->spec->n_labels ? c->spec->labels[d->cls] : NULL};
	}
	task_file_name(path, sizeof path, c->draw_dir, it->index, it->path, png ? ".png" : ".jpg");
	if (draw_detections(it->img, b, l->n, png ? IMAGE_PNG : IMAGE_JPEG, path, err, sizeof err) == 0)
		json_object_set_new(it->rec, "drawn", json_string(path));
	else
		json_object_set_new(it->rec, "draw_error", json_string(err));
	free(b);
}

static int detect_post(const struct task_ctx *c, const tch_value *out, struct task_item *items, int n,
                       char *err, size_t errlen)
{
	const struct detect_spec *det = &c->spec->det;
	int64_t sh[8];
	int C = 0, nd = c->T->tch_tensor_shape(out, sh, 8);
	size_t per = 1;
	float *v;

	if (c->T->tch_value_kind(out) != TCH_TENSOR || nd < 1) {
		msg_fmt(err, errlen, "model output is not a tensor (task detect)");
		return -1;
	}
	if (check_shape(c, sh, nd, &C, err, errlen) < 0 || !(v = task_float_rows(c, out, n, nd, sh, err, errlen)))
		return -1;
	for (int d = 1; d < nd; d++)
		per *= (size_t)sh[d];
	for (int i = 0; i < n; i++) {
		const float *o = v + per * (size_t)i;
		struct det_list l = {0};
		json_t *arr;
		int rc;
		if (det->type == DECODER_YOLOV8)
			rc = detect_yolov8(o, C, (int)sh[2], c->conf, &l);
		else if (det->type == DECODER_YOLOV2)
			rc = detect_yolov2(o, det->n_anchors, (const float(*)[2])det->anchors, C, (int)sh[2], (int)sh[3],
			                   c->spec->pre.width, c->spec->pre.height, c->conf, &l);
		else
			rc = detect_boxes(o, (int)sh[1], c->conf, &l);
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
			                       "label", d->cls < c->spec->n_labels ? json_string(c->spec->labels[d->cls])
			                                                           : json_null()));
		}
		json_object_set_new(items[i].rec, "detections", arr);
		if (c->draw_dir && items[i].img)
			draw(c, &items[i], &l);
		det_list_free(&l);
	}
	free(v);
	return 0;
}

const struct task_ops detect_ops = {TASK_DETECT, detect_post};
