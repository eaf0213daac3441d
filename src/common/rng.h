/* The one random number generator of tulip (xorshift64*): the loop keeps a
 * state seeded from tulip_config.seed (src/loop), and everything that
 * chooses at random (select's fair pick) draws from it, so one seed
 * replays a run. Not for anything that must be unpredictable. */
#ifndef TULIP_RNG_H
#define TULIP_RNG_H

#include <stdint.h>

/* A state for seed: xorshift has one fixed point, 0, which is avoided. */
static inline uint64_t tulip__rng_seed(uint64_t seed)
{
    return seed ? seed : 0x9E3779B97F4A7C15ull;
}

static inline uint64_t tulip__rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

#endif
