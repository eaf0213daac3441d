/* Cross-architecture smoke test of the context switch: floating-point
 * registers survive yields, deep frames, timers and scopes. Built and run
 * under qemu-user by scripts/check_aarch64.sh (not part of CTest). */
#include <stdio.h>
#include <stdint.h>
#include "tulip.h"
static int child(void *p) { double x = (double)(intptr_t)p; for (int i = 0; i < 3; i++) { x *= 1.5; if (tulip_yield() < 0) return -1; } return (int)x; }
static int deep(int n) { volatile char b[256]; b[0] = (char)n; return n ? deep(n - 1) + b[0] : 0; }
static int rec(void *p) { (void)p; return deep(100) > 0 ? 0 : -1; }
static int main_task(void *p) {
    (void)p;
    tulip_task *t[100];
    for (int i = 0; i < 100; i++) t[i] = tulip_spawn(child, (void *)(intptr_t)(i + 1));
    long sum = 0;
    for (int i = 0; i < 100; i++) sum += tulip_join(t[i]);
    if (tulip_join(tulip_spawn(rec, NULL)) != 0) return -1;
    tulip_scope s; tulip_scope_enter_timeout(&s, TULIP_MS(5));
    int rc = tulip_sleep(TULIP_SEC(10)); tulip_scope_exit(&s);
    printf("sum=%ld sleep=%d (%s)\n", sum, rc, tulip_err_name(rc));
    return sum == 17000 && rc == -ETIMEDOUT ? 0 : 1;
}
int main(void) { int rc = tulip_run(main_task, NULL); printf("aarch64 tulip_run=%d\n", rc); return rc; }
