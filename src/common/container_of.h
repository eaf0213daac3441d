/* container_of: from a pointer to a member back to the structure holding
 * it. The one way tulip's intrusive links (ready-queue entries, timers, fd
 * waits, posts) find their owner. */
#ifndef TULIP_CONTAINER_OF_H
#define TULIP_CONTAINER_OF_H

#include <stddef.h>

#define tulip__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
