/*
 * preprocess.h — from a decoded image to a model's input tensor.
 *
 * The geometry is exactly that of SPEC §3 (letterbox / stretch / crop with
 * Python's round-half-to-even), interpolation is half-pixel-centre bilinear
 * in float (torch.nn.functional.interpolate(..., mode="bilinear",
 * align_corners=False), optionally antialias=True), then
 * value = (v * scale - mean[c]) / std[c].
 */
#ifndef TINFER_PREPROCESS_H
#define TINFER_PREPROCESS_H

#include "formats/image.h"

enum resize_mode { RESIZE_LETTERBOX = 0, RESIZE_STRETCH, RESIZE_CROP };
enum interp_mode { INTERP_BILINEAR = 0, INTERP_ANTIALIAS };

struct preprocess {
	int width, height;          /* model input size */
	int channels;               /* 1 (luma) or 3 */
	int bgr;                    /* channel order of a 3-channel input */
	enum resize_mode resize;
	int align_center;           /* letterbox: 1 = centre (ultralytics), 0 = top-left */
	int resize_to;              /* crop: the shorter side becomes this */
	enum interp_mode interp;
	float pad_value;            /* in source units (0..255), normalised like pixels */
	float scale;
	float mean[3], std[3];
};

/*
 * Where the source image lands in the model input: it is resized to
 * new_w x new_h and placed with its top-left corner at (left, top) of the
 * width x height input (negative offsets for crop).  Mapping a model-input
 * coordinate back to the source: x_src = (x - left) / gain_x.
 */
struct geometry {
	int src_w, src_h;
	int new_w, new_h;
	int left, top;
	double gain_x, gain_y;      /* new_w / src_w, new_h / src_h */
};

/* Python's round(): half to even. */
double round_half_even(double x);

/* Fills *g for a src_w x src_h image.  Returns -1 on impossible sizes. */
int preprocess_geometry(const struct preprocess *p, int src_w, int src_h, struct geometry *g);

/*
 * For --fast-decode: the size a JPEG in buf may be decoded down to (its
 * resized size under p, from its header), for image_decode's fast_w and
 * fast_h; 0 x 0 (full size) when buf is not a JPEG or its size is unusable.
 */
void preprocess_decode_target(const struct preprocess *p, const unsigned char *buf, size_t len, int *w, int *h);

/*
 * Writes p->channels x p->height x p->width floats (CHW, C order) to out and
 * the geometry used to *g.  Returns 0, or -1 with a reason in err (only for
 * impossible sizes or an allocation failure).
 */
int preprocess_image(const struct preprocess *p, const struct image *img, float *out,
                     struct geometry *g, char *err, size_t errlen);

#endif
