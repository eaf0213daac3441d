/* Intrusive doubly linked lists: a struct tulip__dlink inside each item and
 * a struct tulip__dlist in the owner; O(1) insertion at either end and O(1)
 * unlinking from the middle, with no allocation. An item is found from its
 * link with tulip__dlist_item (container_of that lets NULL through). tulip
 * keeps such lists wherever an object must leave a collection from
 * anywhere in it: live and recycled tasks, a group's children, thread-pool
 * jobs, idle server connections. (The wait queues of task_internal.h are
 * the same list with a count, typed because the sync primitives and the
 * cross-loop waits walk them by hand.) */
#ifndef TULIP_DLIST_H
#define TULIP_DLIST_H

#include <stddef.h>
#include <stdint.h>

struct tulip__dlink {
    struct tulip__dlink *prev, *next;
};

struct tulip__dlist {
    struct tulip__dlink *head, *tail;
};

static inline void tulip__dlist_push_front(struct tulip__dlist *l, struct tulip__dlink *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
}

static inline void tulip__dlist_push_back(struct tulip__dlist *l, struct tulip__dlink *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

/* n must be in l. Its own links are left as they were (stale): nothing
 * reads them before the next insertion sets them, and spawn+join, which
 * unlinks a task per join, is measured in instructions. */
static inline void tulip__dlist_remove(struct tulip__dlist *l, struct tulip__dlink *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
}

/* Unlink and return the head, or NULL when l is empty. */
static inline struct tulip__dlink *tulip__dlist_pop_front(struct tulip__dlist *l)
{
    struct tulip__dlink *n = l->head;
    if (n)
        tulip__dlist_remove(l, n);
    return n;
}

/* The item whose link at byte offset off is n, or NULL for NULL. */
static inline void *tulip__dlist_owner(const struct tulip__dlink *n, size_t off)
{
    return n ? (char *)(uintptr_t)n - off : NULL;
}

/* The item of type holding link in member (NULL for NULL); link is
 * evaluated once, so it may be a call such as tulip__dlist_pop_front. */
#define tulip__dlist_item(link, type, member) ((type *)tulip__dlist_owner((link), offsetof(type, member)))

#endif
