/* num.c — see num.h. */
#include "sys/num.h"

#include <math.h>

double num_round(double x, int decimals)
{
	double scale = pow(10.0, decimals);
	return round(x * scale) / scale;
}

uint64_t splitmix_next(struct splitmix *r)
{
	uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

float splitmix_unit(struct splitmix *r) { return (float)(splitmix_next(r) >> 40) / (float)(1 << 24); }
