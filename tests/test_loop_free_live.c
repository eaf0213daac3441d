/* tulip_loop_free of a loop whose unfinished tasks wait on one another
 * (tulip/loop.h: tasks that never finished are freed with their stacks,
 * not resumed). Freeing unhooks every parked task from what it waits on
 * before it frees any: a task parked in tulip_join on a newer task had its
 * wait undone (the joined task's joiner cleared) after that task was freed,
 * a write into freed memory (reported by valgrind and ASan, which run this
 * test in CI). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_util.h"

static int sleeper(void *arg)
{
    (void)arg;
    return tulip_sleep(TULIP_SEC(3600));
}

/* joins a task that joins a task that sleeps: each joined task is newer
 * than its joiner, so it comes first in the loop's list */
static int join_chain(void *arg)
{
    int depth = (int)(intptr_t)arg;
    tulip_task *t = tulip_spawn(depth > 0 ? join_chain : sleeper, (void *)(intptr_t)(depth - 1));
    assert_non_null(t);
    return tulip_join(t);
}

static void test_free_with_joins_parked(void **state)
{
    (void)state;
    tulip_loop *l = test_loop_new(1);
    assert_non_null(l);
    assert_non_null(tulip_spawn_on(l, join_chain, (void *)(intptr_t)3));
    for (int i = 0; i < 8; i++)
        assert_true(tulip_loop_run_once(l, false) >= 0);
    tulip_loop_stats st;
    assert_int_equal(tulip_loop_stats_get(l, &st), 0);
    assert_int_equal(st.tasks_alive, 5); /* 4 joiners parked, 1 sleeper */
    assert_int_equal(tulip_loop_free(l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_with_joins_parked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
