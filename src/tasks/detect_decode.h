/*
 * detect_decode.h — object detection post-processing, pure C: the three output
 * decoders of SPEC §3 (yolov8, yolov2, boxes), class-wise NMS, and the
 * mapping of boxes back into source-image pixels.  detect.c applies
 * them to a batch's output tensor.
 */
#ifndef TINFER_DETECT_H
#define TINFER_DETECT_H

#include <stddef.h>

#include "formats/preprocess.h"

struct det {
	float x1, y1, x2, y2;       /* model-input pixels, then source pixels */
	float score;
	int cls;
};

/* A growable list of detections. */
struct det_list {
	struct det *d;
	int n, cap;
};

/* Appends one; -1 when out of memory. */
int det_push(struct det_list *l, struct det d);
void det_list_free(struct det_list *l);

/*
 * yolov8 (ultralytics export): out is one image's [4 + C, A] (cx, cy, w, h in
 * input pixels, then C class scores).  Keeps anchors whose best class scores
 * above conf, as that class.
 */
int detect_yolov8(const float *out, int C, int A, float conf, struct det_list *l);

/*
 * yolov2: out is one image's [na * (5 + C), gh, gw]; per anchor tx, ty, tw,
 * th, objectness, then C class scores (C = 0: one class, no class channel).
 * anchors[na][2] in grid cells.  Box centre = (cell + sigmoid(t)) * cell
 * size, size = anchor * exp(t) * cell size, in input pixels (in_w x in_h);
 * score = sigmoid(objectness) * sigmoid(class score).
 */
int detect_yolov2(const float *out, int na, const float (*anchors)[2], int C, int gh, int gw,
                  int in_w, int in_h, float conf, struct det_list *l);

/* boxes: out is one image's [N, 6]: x1, y1, x2, y2, score, class. */
int detect_boxes(const float *out, int N, float conf, struct det_list *l);

/*
 * Class-wise greedy NMS: sorts by score (descending, ties by position),
 * drops a box whose IoU with a kept box of its class exceeds iou, keeps at
 * most max_det.  Only the best 30000 candidates are considered, as
 * ultralytics does.  Returns the number kept (l->n is set to it).
 */
int detect_nms(struct det_list *l, float iou, int max_det);

/*
 * Maps boxes from model-input pixels to source-image pixels through the
 * geometry of the preprocessing, clipped to the image.
 */
void detect_unmap(struct det_list *l, const struct geometry *g);

#endif
