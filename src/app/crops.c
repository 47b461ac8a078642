/* crops.c — see crops.h. */
#include "app/crops.h"
#include "app/output.h"
#include "sys/msg.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct crop_source {
	pthread_mutex_t mu;
	int refs;                   /* boxes not yet freed */
	char *name;
	int decoded;                /* tried: img or err is set */
	struct image img;
	char err[ERRLEN];
};

struct crops {
	FILE *f;
	const char *name;           /* for messages: the file, or "stdin" */
	double pad;
	int streaming;
	size_t line;
	json_t *rec;                /* the record whose boxes are being handed out */
	struct crop_source *src;
	size_t next_box;
};

struct crops *crops_open(FILE *f, const char *name, double pad)
{
	struct crops *c = calloc(1, sizeof *c);
	struct stat st;
	if (!c)
		return NULL;
	c->f = f;
	c->name = name;
	c->pad = pad;
	c->streaming = fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode);
	return c;
}

int crops_streaming(const struct crops *c) { return c->streaming; }

static void source_release(struct crop_source *s)
{
	int last;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (last) {
		pthread_mutex_destroy(&s->mu);
		image_free(&s->img);
		free(s->name);
		free(s);
	}
}

/* Done with the current record: the boxes handed out keep its source alive. */
static void drop_record(struct crops *c)
{
	json_decref(c->rec);
	c->rec = NULL;
	source_release(c->src);
	c->src = NULL;
}

/* An error input named name with reason why. */
static int error_input(struct input *in, const char *name, const char *why)
{
	in->name = strdup(name);
	in->error = strdup(why);
	return 1;
}

int crops_next(struct crops *c, struct input *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(in, 0, sizeof *in);
	in->det = -1;
	for (;;) {
		json_t *boxes = c->rec ? json_object_get(c->rec, "detections") : NULL;
		if (c->rec && c->next_box < json_array_size(boxes)) {
			json_t *d = json_array_get(boxes, c->next_box), *b = json_object_get(d, "box");
			struct crop *crop = calloc(1, sizeof *crop);
			int k;
			in->det = (long)c->next_box++;
			in->name = strdup(c->src->name);
			if (!crop || !in->name) {
				free(crop);
				in->error = strdup("out of memory");
				return 1;
			}
			for (k = 0; k < 4 && json_is_number(json_array_get(b, (size_t)k)); k++)
				crop->box[k] = json_number_value(json_array_get(b, (size_t)k));
			if (k < 4 || json_array_size(b) != 4) {
				free(crop);
				in->error = strdup("detection has no box [x1, y1, x2, y2]");
				return 1;
			}
			/* widened by pad of the box's size on each side */
			{
				double w = crop->box[2] - crop->box[0], h = crop->box[3] - crop->box[1];
				crop->box[0] -= c->pad * w, crop->box[2] += c->pad * w;
				crop->box[1] -= c->pad * h, crop->box[3] += c->pad * h;
			}
			pthread_mutex_lock(&c->src->mu);
			c->src->refs++;
			pthread_mutex_unlock(&c->src->mu);
			crop->src = c->src;
			in->crop = crop;
			return 1;
		}
		drop_record(c);
		if ((n = getline(&line, &cap, c->f)) <= 0) {
			free(line);
			return 0;
		}
		c->line++;
		if (strspn(line, " \t\r\n") == (size_t)n)
			continue; /* a blank line */
		{
			json_error_t je;
			json_t *rec = json_loadb(line, (size_t)n, 0, &je);
			char *name = rec ? output_record_input(rec) : NULL;
			char where[64], why[ERRLEN];
			free(line);
			line = NULL;
			cap = 0;
			snprintf(where, sizeof where, "%s:%zu", c->name, c->line);
			if (!json_is_object(rec) || !name) {
				json_decref(rec);
				free(name);
				return error_input(in, where, msg_fmt(why, sizeof why, "--crop-from: not a record: %s",
				                                      rec ? "no \"input\"" : je.text));
			}
			if (!json_is_true(json_object_get(rec, "ok"))) {
				const char *e = json_string_value(json_object_get(rec, "error"));
				error_input(in, name, msg_fmt(why, sizeof why, "detector failed: %s", e ? e : "no reason given"));
				if (json_is_integer(json_object_get(rec, "det")))
					in->det = (long)json_integer_value(json_object_get(rec, "det"));
				json_decref(rec);
				free(name);
				return 1;
			}
			if (!json_is_array(json_object_get(rec, "detections"))) {
				error_input(in, name, "--crop-from: not a detect record (no \"detections\")");
				json_decref(rec);
				free(name);
				return 1;
			}
			/* A detector run on crops gives boxes in the crop's pixels, and
			 * its boxes' crops would share (input, det) with each other:
			 * cut from the source they would be wrong, resumed some lost. */
			if (json_object_get(rec, "box")) {
				error_input(in, name, "--crop-from: a detect record made on a crop (it has \"box\"): its boxes "
				                      "are not in the source's pixels; chain detectors on the source images");
				if (json_is_integer(json_object_get(rec, "det")))
					in->det = (long)json_integer_value(json_object_get(rec, "det"));
				json_decref(rec);
				free(name);
				return 1;
			}
			if (!(c->src = calloc(1, sizeof *c->src))) {
				json_decref(rec);
				free(name);
				return error_input(in, where, "out of memory");
			}
			pthread_mutex_init(&c->src->mu, NULL);
			c->src->refs = 1; /* the reader's own, dropped with the record */
			c->src->name = name;
			c->rec = rec;
			c->next_box = 0;
		}
	}
}

void crops_close(struct crops *c)
{
	if (!c)
		return;
	drop_record(c);
	free(c);
}

int crop_cut(struct crop *crop, long long max_pixels, struct image *out, int region[4], char *err,
             size_t errlen)
{
	struct crop_source *s = crop->src;
	int x0, y0, x1, y1, ch;

	pthread_mutex_lock(&s->mu);
	if (!s->decoded) {
		size_t len;
		unsigned char *buf = strcmp(s->name, "-") ? inputs_read(s->name, &len, s->err, sizeof s->err) : NULL;
		if (!strcmp(s->name, "-"))
			msg_fmt(s->err, sizeof s->err, "the detector read its image from stdin: nothing to cut from");
		if (buf && image_decode(buf, len, max_pixels, 0, 0, &s->img, s->err, sizeof s->err) == 0)
			s->err[0] = '\0';
		free(buf);
		s->decoded = 1;
	}
	pthread_mutex_unlock(&s->mu);
	if (!s->img.data) {
		msg_fmt(err, errlen, "source image: %s", s->err);
		return -1;
	}
	if (!(isfinite(crop->box[0]) && isfinite(crop->box[1]) && isfinite(crop->box[2]) && isfinite(crop->box[3]))) {
		msg_fmt(err, errlen, "box is not finite");
		return -1;
	}
	x0 = crop->box[0] <= 0 ? 0 : crop->box[0] >= s->img.width ? s->img.width : (int)floor(crop->box[0]);
	y0 = crop->box[1] <= 0 ? 0 : crop->box[1] >= s->img.height ? s->img.height : (int)floor(crop->box[1]);
	x1 = crop->box[2] >= s->img.width ? s->img.width : crop->box[2] <= 0 ? 0 : (int)ceil(crop->box[2]);
	y1 = crop->box[3] >= s->img.height ? s->img.height : crop->box[3] <= 0 ? 0 : (int)ceil(crop->box[3]);
	region[0] = x0, region[1] = y0, region[2] = x1, region[3] = y1;
	if (x1 <= x0 || y1 <= y0) {
		msg_fmt(err, errlen, "box [%g, %g, %g, %g] is empty once clipped to the %dx%d image", crop->box[0],
		        crop->box[1], crop->box[2], crop->box[3], s->img.width, s->img.height);
		return -1;
	}
	ch = s->img.channels;
	memset(out, 0, sizeof *out);
	out->width = x1 - x0;
	out->height = y1 - y0;
	out->channels = ch;
	out->format = s->img.format;
	out->scale_denom = 1;
	if (!(out->data = malloc((size_t)out->width * (size_t)out->height * (size_t)ch))) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	for (int y = 0; y < out->height; y++)
		memcpy(out->data + (size_t)y * (size_t)out->width * (size_t)ch,
		       s->img.data + ((size_t)(y0 + y) * (size_t)s->img.width + (size_t)x0) * (size_t)ch,
		       (size_t)out->width * (size_t)ch);
	return 0;
}

void crop_free(struct crop *crop)
{
	if (!crop)
		return;
	source_release(crop->src);
	free(crop);
}
