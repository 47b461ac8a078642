/*
 * num.h — numbers: how they are written (every figure tinfer prints goes
 * through num_round(), so that durations, rates and coordinates carry the
 * digits that mean something and no more), and the one seeded generator
 * (point sampling, prompts, bench's synthetic inputs).
 */
#ifndef TINFER_NUM_H
#define TINFER_NUM_H

#include <stdint.h>

/* x rounded to `decimals` decimal places, halves away from zero. */
double num_round(double x, int decimals);

/* splitmix64: state = seed; one generator per use. */
struct splitmix {
	uint64_t state;
};
uint64_t splitmix_next(struct splitmix *r);

/* The next draw as a float in [0, 1). */
float splitmix_unit(struct splitmix *r);

#endif
