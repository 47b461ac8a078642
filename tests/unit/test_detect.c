/* Unit tests for tasks/detect_decode.c: decoders, class-wise NMS, mapping boxes back. */
#include "check.h"
#include "tasks/detect_decode.h"

#include <math.h>
#include <string.h>

static int near(float a, float b, float tol) { return fabsf(a - b) <= tol; }

static struct det D(float x1, float y1, float x2, float y2, float s, int c)
{
	return (struct det){x1, y1, x2, y2, s, c};
}

int main(void)
{
	struct det_list l = {0};

	/* NMS: overlapping boxes of one class collapse to the best, other classes stay */
	det_push(&l, D(0, 0, 10, 10, 0.6f, 0));
	det_push(&l, D(1, 1, 11, 11, 0.9f, 0));    /* IoU with the first: 81/119 = 0.68 */
	det_push(&l, D(1, 1, 11, 11, 0.8f, 1));    /* same place, other class */
	det_push(&l, D(50, 50, 60, 60, 0.7f, 0));  /* far away */
	det_push(&l, D(0, 0, 10, 10, 0.95f, 2));
	CHECK(detect_nms(&l, 0.45f, 300) == 4, "nms keeps 4", "kept %d", l.n);
	CHECK(l.d[0].score == 0.95f && l.d[1].score == 0.9f && l.d[2].score == 0.8f && l.d[3].score == 0.7f,
	      "nms sorted by score, suppressed the 0.6", "%g %g %g %g", l.d[0].score, l.d[1].score, l.d[2].score,
	      l.d[3].score);
	l.n = 0;
	det_push(&l, D(0, 0, 10, 10, 0.6f, 0));
	det_push(&l, D(1, 1, 11, 11, 0.9f, 0));
	CHECK(detect_nms(&l, 0.7f, 300) == 2, "nms keeps both under a looser IoU", "kept %d", l.n);
	l.n = 0;
	for (int i = 0; i < 10; i++)
		det_push(&l, D(20.0f * i, 0, 20.0f * i + 10, 10, 0.5f + 0.01f * i, 0));
	CHECK(detect_nms(&l, 0.45f, 3) == 3 && near(l.d[0].score, 0.59f, 1e-6f), "max-det keeps the best 3",
	      "kept %d", l.n);
	l.n = 0;
	det_push(&l, D(0, 0, 10, 10, 0.5f, 0));
	det_push(&l, D(0, 0, 10, 10, 0.5f, 0));
	CHECK(detect_nms(&l, 0.45f, 300) == 1, "equal scores: the first wins, duplicates go", "kept %d", l.n);
	l.n = 0;
	det_push(&l, D(5, 5, 5, 5, 0.5f, 0)); /* zero area: IoU 0, no division by zero */
	det_push(&l, D(5, 5, 5, 5, 0.4f, 0));
	CHECK(detect_nms(&l, 0.45f, 300) == 2, "zero-area boxes", "kept %d", l.n);
	CHECK(detect_nms(&(struct det_list){0}, 0.5f, 10) == 0, "nms of nothing", "not 0");

	/* yolov8: [4 + C, A], C = 2, A = 3 */
	{
		float out[6][3] = {
			{100, 200, 300},      /* cx */
			{50, 60, 70},         /* cy */
			{20, 40, 60},         /* w */
			{10, 10, 10},         /* h */
			{0.1f, 0.9f, 0.2f},   /* class 0 */
			{0.8f, 0.3f, 0.24f},  /* class 1 */
		};
		l.n = 0;
		detect_yolov8(&out[0][0], 2, 3, 0.25f, &l);
		CHECK(l.n == 2, "yolov8 keeps anchors above conf", "%d", l.n);
		CHECK(l.d[0].cls == 1 && near(l.d[0].score, 0.8f, 1e-6f) && l.d[0].x1 == 90 && l.d[0].y1 == 45 &&
		          l.d[0].x2 == 110 && l.d[0].y2 == 55,
		      "yolov8 anchor 0: class 1, xyxy", "cls %d %g %g %g %g", l.d[0].cls, l.d[0].x1, l.d[0].y1,
		      l.d[0].x2, l.d[0].y2);
		CHECK(l.d[1].cls == 0 && near(l.d[1].score, 0.9f, 1e-6f) && l.d[1].x1 == 180,
		      "yolov8 anchor 1: class 0", "cls %d", l.d[1].cls);
	}

	/* yolov2: 1 anchor, no class channel, 2x2 grid over a 64x64 input */
	{
		const float anchors[1][2] = {{1.0f, 2.0f}};
		float out[5][2][2];
		memset(out, 0, sizeof out);
		for (int y = 0; y < 2; y++)
			for (int x = 0; x < 2; x++)
				out[4][y][x] = -10.0f; /* objectness ~0 */
		out[4][1][0] = 3.0f;           /* cell (row 1, col 0) fires: sigmoid(3) = 0.9526 */
		l.n = 0;
		detect_yolov2(&out[0][0][0], 1, anchors, 0, 2, 2, 64, 64, 0.5f, &l);
		CHECK(l.n == 1, "yolov2 one box", "%d", l.n);
		/* centre (0 + 0.5) * 32 = 16, (1 + 0.5) * 32 = 48; size 1 * 32 x 2 * 32 */
		CHECK(l.n == 1 && near(l.d[0].x1, 0, 1e-4f) && near(l.d[0].x2, 32, 1e-4f) && near(l.d[0].y1, 16, 1e-4f) &&
		          near(l.d[0].y2, 80, 1e-4f) && near(l.d[0].score, 0.952574f, 1e-5f),
		      "yolov2 box from cell, anchor and sigmoid", "%g %g %g %g %g", l.d[0].x1, l.d[0].y1, l.d[0].x2,
		      l.d[0].y2, l.d[0].score);
	}
	/* yolov2 with 2 classes: score = sigmoid(obj) * sigmoid(best class) */
	{
		const float anchors[2][2] = {{1, 1}, {2, 2}};
		float out[2 * 7][1][1];
		memset(out, 0, sizeof out);
		out[4][0][0] = -20;                 /* anchor 0 objectness off */
		out[7 + 4][0][0] = 20;              /* anchor 1 objectness ~1 */
		out[7 + 5][0][0] = -1;              /* class 0 */
		out[7 + 6][0][0] = 2;               /* class 1 */
		l.n = 0;
		detect_yolov2(&out[0][0][0], 2, anchors, 2, 1, 1, 32, 32, 0.5f, &l);
		CHECK(l.n == 1 && l.d[0].cls == 1 && near(l.d[0].score, 0.880797f, 1e-5f) && near(l.d[0].x2 - l.d[0].x1, 64, 1e-3f),
		      "yolov2 classes and the second anchor", "n %d", l.n);
	}

	/* boxes: [N, 6] */
	{
		float out[3][6] = {{1, 2, 3, 4, 0.9f, 2}, {5, 6, 7, 8, 0.1f, 0}, {0, 0, 1, 1, 0.8f, NAN}};
		l.n = 0;
		detect_boxes(&out[0][0], 3, 0.25f, &l);
		CHECK(l.n == 1 && l.d[0].cls == 2 && l.d[0].x2 == 3, "boxes: conf and a NaN class", "%d", l.n);
	}

	/* mapping back through the letterbox: a wide and a tall image */
	{
		struct preprocess p = {.width = 640, .height = 640, .channels = 3, .resize = RESIZE_LETTERBOX,
		                       .align_center = 1, .scale = 1, .std = {1, 1, 1}};
		struct geometry g;
		preprocess_geometry(&p, 1280, 720, &g); /* 640x360 at top 140 */
		l.n = 0;
		det_push(&l, D(320, 320, 330, 330, 1, 0));
		det_push(&l, D(-20, 100, 700, 600, 1, 0)); /* beyond the image: clipped */
		detect_unmap(&l, &g);
		CHECK(near(l.d[0].x1, 640, 1e-3f) && near(l.d[0].y1, 360, 1e-3f) && near(l.d[0].x2, 660, 1e-3f),
		      "wide: back to source pixels", "%g %g %g", l.d[0].x1, l.d[0].y1, l.d[0].x2);
		CHECK(l.d[1].x1 == 0 && l.d[1].y1 == 0 && l.d[1].x2 == 1280 && l.d[1].y2 == 720, "wide: clipped",
		      "%g %g %g %g", l.d[1].x1, l.d[1].y1, l.d[1].x2, l.d[1].y2);
		preprocess_geometry(&p, 100, 400, &g); /* 160x640 at left 240 */
		l.n = 0;
		det_push(&l, D(240, 0, 400, 640, 1, 0));
		detect_unmap(&l, &g);
		CHECK(near(l.d[0].x1, 0, 1e-3f) && near(l.d[0].x2, 100, 1e-3f) && near(l.d[0].y2, 400, 1e-3f),
		      "tall: back to source pixels", "%g %g %g", l.d[0].x1, l.d[0].x2, l.d[0].y2);
		p.align_center = 0;
		preprocess_geometry(&p, 100, 400, &g); /* top-left: no offset */
		l.n = 0;
		det_push(&l, D(0, 0, 160, 640, 1, 0));
		detect_unmap(&l, &g);
		CHECK(near(l.d[0].x2, 100, 1e-3f) && near(l.d[0].y2, 400, 1e-3f), "topleft letterbox", "%g %g",
		      l.d[0].x2, l.d[0].y2);
		p.resize = RESIZE_STRETCH;
		preprocess_geometry(&p, 1000, 100, &g);
		l.n = 0;
		det_push(&l, D(64, 64, 128, 128, 1, 0));
		detect_unmap(&l, &g);
		CHECK(near(l.d[0].x1, 100, 1e-3f) && near(l.d[0].y1, 10, 1e-3f) && near(l.d[0].y2, 20, 1e-3f),
		      "stretch: separate x and y gains", "%g %g %g", l.d[0].x1, l.d[0].y1, l.d[0].y2);
	}
	det_list_free(&l);
	return check_done();
}
