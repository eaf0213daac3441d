/* Lock-free stacks (cross-thread posts, cross-loop wakes) and prepend-only
 * lists (future callbacks) hand their items over newest first; whoever
 * runs them wants them in the order they came. One reversal for all of
 * them, whatever the node type: the link is the node's `next` member. */
#ifndef TULIP_LIFO_H
#define TULIP_LIFO_H

#include <stddef.h>
#include <string.h>

/* Reverse the list at head, linked through the pointer at byte offset
 * next_off of each node; returns the new head (the oldest item). The links
 * are copied with memcpy so any pointer type may be the link. */
static inline void *tulip__lifo_reverse(void *head, size_t next_off)
{
    void *fifo = NULL;
    while (head) {
        void *next;
        memcpy(&next, (char *)head + next_off, sizeof next);
        memcpy((char *)head + next_off, &fifo, sizeof fifo);
        fifo = head;
        head = next;
    }
    return fifo;
}

/* The items of list (a pointer to type) in the order they were pushed. */
#define tulip__lifo_to_fifo(list, type) ((type *)tulip__lifo_reverse((list), offsetof(type, next)))

#endif
