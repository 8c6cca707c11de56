/* SPDX-License-Identifier: MIT */
/*
 * urt tasks inside a libuv program: a uv_poll_t watches urt_loop_fd, a
 * uv_timer_t fires at urt_loop_timeout_ns, and both callbacks step the urt
 * loop, then re-arm the timer. When no urt task is left running, the
 * handles are closed and uv_run returns. A uv_timer of the host program
 * runs alongside. Exit 0 when every task's result is right.
 */
#include <uv.h>

#include "embed_work.h"

static urt_loop *L;
static uv_poll_t upoll;
static uv_timer_t utimer, host_timer;
static unsigned long steps, host_ticks;
static bool finished;

static void step(void);

static void on_poll(uv_poll_t *h, int status, int events)
{
	(void)h;
	(void)status;
	(void)events;
	step();
}

static void on_timer(uv_timer_t *h)
{
	(void)h;
	step();
}

static void on_host_timer(uv_timer_t *h)
{
	(void)h;
	host_ticks++;
}

/* One urt turn, then tell libuv when the next one is due. */
static void step(void)
{
	if (finished)
		return;
	int alive = urt_loop_step(L);
	steps++;
	if (alive <= 0) {
		finished = true;
		uv_poll_stop(&upoll);
		uv_timer_stop(&utimer);
		uv_timer_stop(&host_timer);
		uv_close((uv_handle_t *)&upoll, NULL);
		uv_close((uv_handle_t *)&utimer, NULL);
		uv_close((uv_handle_t *)&host_timer, NULL);
		return;
	}
	int64_t ns = urt_loop_timeout_ns(L);
	if (ns < 0)
		uv_timer_stop(&utimer); /* nothing timed: the fd will wake us */
	else
		uv_timer_start(&utimer, on_timer, (uint64_t)((ns + 999999) / 1000000), 0);
}

int main(void)
{
	struct embed_work w;
	if (!(L = embed_work_loop(&w, "uv_embed")))
		return 1;
	uv_loop_t *uv = uv_default_loop();
	uv_poll_init(uv, &upoll, urt_loop_fd(L));
	uv_poll_start(&upoll, UV_READABLE, on_poll);
	uv_timer_init(uv, &utimer);
	uv_timer_init(uv, &host_timer);
	uv_timer_start(&host_timer, on_host_timer, 5, 5);
	uv_timer_start(&utimer, on_timer, 0, 0); /* the first step */
	uv_run(uv, UV_RUN_DEFAULT);
	uv_loop_close(uv);
	int rc = embed_work_finish(L, &w, "uv_embed");
	printf("uv_embed: %s (%lu steps, %lu host timer ticks)\n", rc ? "FAILED" : "ok", steps,
	       host_ticks);
	return rc;
}
