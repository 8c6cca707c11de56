/* SPDX-License-Identifier: MIT */
/*
 * The progress bar: a task that redraws one stderr line five times a
 * second (bytes, percent, rate, ETA, files). By default only when stderr
 * is a terminal. Asked for (--progress) when it is not, it writes plain
 * lines instead, one a second and a last one at the end: never a carriage
 * return or an escape code into a log file or pipe.
 */
#include <stdio.h>
#include <unistd.h>

#include "cp.h"

static urt_task *task;
static bool tty;
static int64_t t0;

static void human(char *out, size_t n, double v)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;
	while (v >= 1024 && i < 4)
		v /= 1024, i++;
	snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void draw(void)
{
	double secs = (double)(urt_now_ns() - t0) / 1e9;
	double rate = secs > 0 ? (double)S.bytes_done / secs : 0;
	char done[32], total[32], r[32], eta[32] = "--:--";
	human(done, sizeof done, (double)S.bytes_done);
	human(total, sizeof total, (double)S.bytes_total);
	human(r, sizeof r, rate);
	if (rate > 0 && S.bytes_total >= S.bytes_done) {
		long left = (long)((double)(S.bytes_total - S.bytes_done) / rate);
		snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
	}
	int pct = S.bytes_total ? (int)(100.0 * (double)S.bytes_done / (double)S.bytes_total) : 0;
	fprintf(stderr, "%s%s / %s %3d%%  %s/s  ETA %s  files %llu/%llu%s", tty ? "\r\033[K" : "",
		done, total, pct, r, eta, (unsigned long long)S.files_done,
		(unsigned long long)S.files_total, tty ? "" : "\n");
	fflush(stderr);
}

static int progress_task(void *arg)
{
	(void)arg;
	while (urt_sleep_ms(tty ? 200 : 1000) == 0)
		draw();
	return 0;
}

void progress_start(void)
{
	if (O.progress > 0) {
		tty = isatty(2);
		t0 = urt_now_ns();
		task = urt_spawn(progress_task, NULL);
	}
}

void progress_stop(void)
{
	if (!task)
		return;
	urt_cancel(task);
	urt_join(task, NULL);
	task = NULL;
	if (tty)
		fprintf(stderr, "\r\033[K");
	else
		draw(); /* the final figures */
	fflush(stderr);
}
