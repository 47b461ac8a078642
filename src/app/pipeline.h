/*
 * pipeline.h — reading and decoding ahead of the model.  Worker threads
 * take inputs from the list (one reader at a time), skip those of other
 * shards and those --resume found done, and decode them into the rows of
 * a ring of three batches: the one in the model and at most two ahead,
 * so memory stays bounded whatever the length of the list.  The model's
 * thread takes the batches in order, whole; when the list is a pipe that
 * has nothing more to say for now, it takes the batch as far as it is
 * filled rather than wait (a record comes out while the stream is open).
 */
#ifndef TINFER_PIPELINE_H
#define TINFER_PIPELINE_H

#include <jansson.h>
#include <stddef.h>

#include "app/inputs.h"
#include "app/resume.h"
#include "formats/cloud.h"
#include "formats/image.h"
#include "formats/npy.h"
#include "formats/preprocess.h"
#include "sys/msg.h"

enum item_kind { ITEM_FAILED = 0, ITEM_IMAGE, ITEM_TENSOR, ITEM_CLOUD };

/* One input of a batch. */
struct item {
	struct input in;            /* from the list: name, bytes, crop */
	enum item_kind kind;
	struct npy arr;             /* ITEM_TENSOR */
	struct cloud cloud;         /* ITEM_CLOUD */
	int width, height;          /* ITEM_IMAGE: source size (the crop's for a crop) */
	int region[4];              /* a crop: the region cut, source pixels */
	struct geometry geo;        /* ITEM_IMAGE: where the source went in the model input */
	struct image img;           /* ITEM_IMAGE when the task keeps images: the decoded source */
	double ms;                  /* time spent on this input */
	int done;                   /* a task filled its record, or it failed */
	int failed_alone;           /* a forward pass failed on this input alone (not for memory) */
	json_t *rec;
	char err[ERRLEN];
};

/* A batch: items[0..count) in list order; an image item's pixels are row k of pix. */
struct batch {
	struct item *items;
	int count;
	float *pix;                 /* (capacity, C, H, W) when the model takes images, else NULL */
};

/* Decodes it; an image goes to row (C x H x W floats).  Runs on worker threads. */
typedef void (*pipeline_prepare)(void *ctx, struct item *it, float *row);

struct pipeline_opts {
	struct inputs *list;
	const struct resume *done;  /* NULL without --resume */
	long shard_i, shard_n;      /* shard_n 0: every input */
	long batch;                 /* inputs per batch (its capacity) */
	size_t row_floats;          /* floats per image row; 0 when the model takes no images */
	int threads;                /* decoding threads, >= 1 */
	pipeline_prepare prepare;
	void *ctx;
};

struct pipeline;

/* Starts the workers.  NULL with a reason in err (out of memory, no threads). */
struct pipeline *pipeline_start(const struct pipeline_opts *o, char *err, size_t errlen);

/* The next batch, in order, decoded; NULL when the list is done (or stopped). */
struct batch *pipeline_next(struct pipeline *p);

/* Gives a batch back once its records are written: its items are freed. */
void pipeline_release(struct pipeline *p, struct batch *b);

/* Batches filled from now on take at most n inputs (out of memory halved it). */
void pipeline_set_batch(struct pipeline *p, long n);

/* No more inputs are taken; pipeline_next() returns NULL. */
void pipeline_stop(struct pipeline *p);

struct pipeline_stats {
	size_t skipped;             /* --resume: done already */
	size_t pending;             /* read and not yet given back: inputs that got no record */
	double decode_ms;           /* reading, decoding and preprocessing, all workers */
	double wait_ms;             /* the model thread waiting for a batch after the first */
	int list_failed;            /* the list became unusable (err) */
	char err[ERRLEN];
	size_t listed;              /* inputs of this shard read so far (skipped included) */
	int list_done;              /* the list was read to its end */
};
void pipeline_stats(struct pipeline *p, struct pipeline_stats *s);

/* Stops the workers and frees everything. */
void pipeline_free(struct pipeline *p);

#endif
