/* pipeline.c — see pipeline.h. */
#include "app/pipeline.h"
#include "sys/memstat.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 3                  /* batches: one in the model, at most two ahead */
#define MAX_THREADS 64
/* A pipe that has said nothing for this long makes the batch run as far as it is filled. */
#define TRICKLE_MS 20.0

struct slot {
	struct batch b;
	int cap;                    /* inputs it may take (the batch size when it was started) */
	int decoded;                /* items whose prepare() returned */
	int taken;                  /* items a worker has started to decode */
	int closed;                 /* takes no more inputs */
};

struct pipeline {
	struct pipeline_opts o;
	pthread_mutex_t mu;
	pthread_cond_t work;        /* for workers: something to decode or read */
	pthread_cond_t ready;       /* for the model: a batch may be complete */
	struct slot ring[RING];
	size_t head;                /* the batch the model takes next */
	size_t fill;                /* the batch new inputs go to */
	long batch;                 /* inputs per batch from now on */
	int reading;                /* a worker is in inputs_next() */
	double reading_since;
	int list_done, stop;
	pthread_t th[MAX_THREADS];
	int nth;
	struct pipeline_stats st;
	int first_taken;
};

static void item_free(struct item *it)
{
	input_free(&it->in);
	json_decref(it->rec);
	npy_free(&it->arr);
	cloud_free(&it->cloud);
	image_free(&it->img);
	memset(it, 0, sizeof *it);
}

/* Closes the batch being filled and starts the next.  Under the lock. */
static void close_fill(struct pipeline *p)
{
	struct slot *s = &p->ring[p->fill % RING];
	s->closed = 1;
	p->fill++;
	pthread_cond_broadcast(&p->ready);
}

/* An item started but not decoded, in list order; NULL when none.  Under the lock. */
static struct item *pending(struct pipeline *p, struct slot **in, int *row)
{
	for (size_t k = p->head; k <= p->fill && k < p->head + RING; k++) {
		struct slot *s = &p->ring[k % RING];
		if (s->taken < s->b.count) {
			*in = s;
			*row = s->taken;
			return &s->b.items[s->taken++];
		}
	}
	return NULL;
}

/* Reads the next input of this shard that is not done into the batch being filled.  Under the lock, which it drops while reading. */
static void read_one(struct pipeline *p)
{
	struct input in;
	char err[ERRLEN];
	int rc;

	p->reading = 1;
	p->reading_since = now_ms();
	pthread_mutex_unlock(&p->mu);
	for (;;) {
		rc = inputs_next(p->o.list, &in, err, sizeof err);
		if (rc != 1)
			break;
		if (p->o.shard_n && in.pos % (size_t)p->o.shard_n != (size_t)p->o.shard_i) {
			input_free(&in);
			continue;
		}
		if (p->o.done && !in.error && resume_done(p->o.done, in.name, in.det)) {
			input_free(&in);
			pthread_mutex_lock(&p->mu);
			p->st.skipped++;
			p->st.listed++;
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		break;
	}
	pthread_mutex_lock(&p->mu);
	p->reading = 0;
	if (rc != 1) {
		if (rc < 0) {
			p->st.list_failed = 1;
			msg_fmt(p->st.err, sizeof p->st.err, "%s", err);
		}
		p->list_done = 1;
		if (p->ring[p->fill % RING].b.count)
			close_fill(p);
		pthread_cond_broadcast(&p->ready);
		pthread_cond_broadcast(&p->work);
		return;
	}
	while (p->fill >= p->head + RING && !p->stop) /* the model closed a batch meanwhile: wait for room */
		pthread_cond_wait(&p->work, &p->mu);
	if (p->stop) {
		input_free(&in);
		return;
	}
	{
		struct slot *s = &p->ring[p->fill % RING];
		struct item *it;
		if (s->b.count == 0)
			s->cap = (int)p->batch;
		it = &s->b.items[s->b.count++];
		it->in = in;
		it->rec = json_object();
		p->st.listed++;
		p->st.pending++;
		if (s->b.count >= s->cap)
			close_fill(p);
	}
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->ready);
}

static void *worker(void *arg)
{
	struct pipeline *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct slot *s;
		int row;
		struct item *it = pending(p, &s, &row);
		if (it) {
			double t0 = now_ms();
			pthread_mutex_unlock(&p->mu);
			p->o.prepare(p->o.ctx, it, s->b.pix ? s->b.pix + p->o.row_floats * (size_t)row : NULL);
			pthread_mutex_lock(&p->mu);
			p->st.decode_ms += now_ms() - t0;
			s->decoded++;
			pthread_cond_broadcast(&p->ready);
			continue;
		}
		if (!p->list_done && !p->reading && p->fill < p->head + RING) {
			read_one(p);
			continue;
		}
		pthread_cond_wait(&p->work, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pipeline *pipeline_start(const struct pipeline_opts *o, char *err, size_t errlen)
{
	struct pipeline *p = calloc(1, sizeof *p);
	if (!p)
		goto oom;
	p->o = *o;
	p->batch = o->batch;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->ready, NULL);
	for (int k = 0; k < RING; k++) {
		if (!(p->ring[k].b.items = calloc((size_t)o->batch, sizeof(struct item))))
			goto oom;
		if (o->row_floats && !(p->ring[k].b.pix = malloc(o->row_floats * (size_t)o->batch * sizeof(float))))
			goto oom;
	}
	for (int k = 0; k < o->threads && k < MAX_THREADS; k++) {
		if (pthread_create(&p->th[k], NULL, worker, p) != 0) {
			if (k == 0) {
				msg_fmt(err, errlen, "cannot start a decoding thread");
				pipeline_free(p);
				return NULL;
			}
			break;
		}
		p->nth++;
	}
	return p;
oom:
	msg_fmt(err, errlen, "out of memory for the batches");
	pipeline_free(p);
	return NULL;
}

struct batch *pipeline_next(struct pipeline *p)
{
	struct slot *s;
	double t0 = now_ms();
	pthread_mutex_lock(&p->mu);
	for (;;) {
		s = &p->ring[p->head % RING];
		if (p->stop)
			break;
		if (s->closed && s->decoded == s->b.count)
			break;
		if (!s->closed && s->b.count && s->decoded == s->b.count && p->head == p->fill && p->reading &&
		    inputs_streaming(p->o.list) && now_ms() - p->reading_since >= TRICKLE_MS) {
			close_fill(p); /* the list is quiet: run what there is */
			break;
		}
		if (p->list_done && p->head == p->fill && !s->b.count)
			break;
		if (!s->closed && s->b.count && s->decoded == s->b.count && p->reading) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(TRICKLE_MS * 1e6 / 2);
			if (ts.tv_nsec >= 1000000000L)
				ts.tv_sec++, ts.tv_nsec -= 1000000000L;
			pthread_cond_timedwait(&p->ready, &p->mu, &ts);
		} else {
			pthread_cond_wait(&p->ready, &p->mu);
		}
	}
	if (p->first_taken)
		p->st.wait_ms += now_ms() - t0;
	p->first_taken = 1;
	if (p->stop || !s->closed) {
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	pthread_mutex_unlock(&p->mu);
	return &s->b;
}

void pipeline_release(struct pipeline *p, struct batch *b)
{
	struct slot *s = (struct slot *)b; /* b is the slot's first member */
	pthread_mutex_lock(&p->mu);
	for (int k = 0; k < b->count; k++)
		item_free(&b->items[k]);
	p->st.pending -= (size_t)b->count;
	b->count = 0;
	s->decoded = s->taken = s->closed = 0;
	p->head++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void pipeline_set_batch(struct pipeline *p, long n)
{
	pthread_mutex_lock(&p->mu);
	p->batch = n;
	pthread_mutex_unlock(&p->mu);
}

void pipeline_stop(struct pipeline *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->mu);
}

void pipeline_stats(struct pipeline *p, struct pipeline_stats *s)
{
	pthread_mutex_lock(&p->mu);
	*s = p->st;
	s->list_done = p->list_done;
	pthread_mutex_unlock(&p->mu);
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	pipeline_stop(p);
	for (int k = 0; k < p->nth; k++)
		pthread_join(p->th[k], NULL);
	for (int k = 0; k < RING; k++) {
		for (int i = 0; i < p->ring[k].b.count; i++)
			item_free(&p->ring[k].b.items[i]);
		free(p->ring[k].b.items);
		free(p->ring[k].b.pix);
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->ready);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
