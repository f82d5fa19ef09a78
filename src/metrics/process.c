/* metrics/process: the standard process_* metrics every Prometheus client exports
 * (prometheus.io/docs/instrumenting/writing_clientlibs, "Process metrics"), read from
 * /proc/self at scrape time. A value that cannot be read is NaN rather than a made-up 0. */
#include "metrics/metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/err.h"

/* The fields of /proc/self/stat we use (proc(5), numbered from 1). */
struct proc_stat {
	double utime_ticks;     /* 14 */
	double stime_ticks;     /* 15 */
	double starttime_ticks; /* 22, since boot */
	double vsize_bytes;     /* 23 */
	double rss_pages;       /* 24 */
};

/* Reads a small /proc file whole into buf (NUL-terminated); returns its length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

static int proc_stat_read(struct proc_stat *st)
{
	char buf[1024];
	if (read_small("/proc/self/stat", buf, sizeof buf) <= 0)
		return AA_EIO;
	/* Field 2 (comm) is in parentheses and may hold spaces or ')': start after the last. */
	char *p = strrchr(buf, ')');
	if (!p)
		return AA_EIO;
	p++;
	/* p is now before field 3; walk to fields 14..24. */
	double v[25] = { 0 };
	for (int field = 3; field <= 24; field++) {
		char *end;
		while (*p == ' ')
			p++;
		if (field == 3) { /* state: a letter */
			if (!*p)
				return AA_EIO;
			p++;
			continue;
		}
		v[field] = strtod(p, &end);
		if (end == p)
			return AA_EIO;
		p = end;
	}
	st->utime_ticks = v[14];
	st->stime_ticks = v[15];
	st->starttime_ticks = v[22];
	st->vsize_bytes = v[23];
	st->rss_pages = v[24];
	return 0;
}

static double ticks_per_second(void)
{
	long t = sysconf(_SC_CLK_TCK);
	return t > 0 ? (double)t : 100.0;
}

static double cpu_seconds(void *user)
{
	struct proc_stat st;
	if (proc_stat_read(&st) != 0)
		return NAN;
	return (st.utime_ticks + st.stime_ticks) / ticks_per_second();
}

static double resident_bytes(void *user)
{
	struct proc_stat st;
	if (proc_stat_read(&st) != 0)
		return NAN;
	return st.rss_pages * (double)sysconf(_SC_PAGESIZE);
}

static double virtual_bytes(void *user)
{
	struct proc_stat st;
	if (proc_stat_read(&st) != 0)
		return NAN;
	return st.vsize_bytes;
}

static double open_fds(void *user)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return NAN;
	double n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the descriptor opendir() itself holds */
}

static double max_fds(void *user)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return NAN;
	return rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur;
}

/* Boot time (the "btime" line of /proc/stat) plus the process's start in ticks since boot.
 * /proc/stat is read line by line: the "intr" line before btime can be many kilobytes. */
static double start_time_seconds(void *user)
{
	struct proc_stat st;
	if (proc_stat_read(&st) != 0)
		return NAN;
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return NAN;
	char *line = NULL;
	size_t cap = 0;
	double btime = NAN;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "btime ", 6) == 0) {
			char *end;
			double v = strtod(line + 6, &end);
			if (end != line + 6)
				btime = v;
			break;
		}
	}
	free(line);
	fclose(f);
	return btime + st.starttime_ticks / ticks_per_second();
}

int metrics_register_process(struct metrics_registry *reg)
{
	static const struct {
		const char *name, *help;
		double (*fn)(void *user);
		int counter;
	} table[] = {
		{ "process_cpu_seconds_total",
		  "CPU time (user plus system) used by the process, in seconds.", cpu_seconds, 1 },
		{ "process_open_fds", "File descriptors the process has open.", open_fds, 0 },
		{ "process_max_fds", "Soft limit on open file descriptors (RLIMIT_NOFILE).",
		  max_fds, 0 },
		{ "process_virtual_memory_bytes",
		  "Size of the process's virtual address space, in bytes.", virtual_bytes, 0 },
		{ "process_resident_memory_bytes", "Process memory resident in RAM, in bytes.",
		  resident_bytes, 0 },
		{ "process_start_time_seconds",
		  "When the process started, in seconds since the Unix epoch.", start_time_seconds,
		  0 },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		int rc = table[i].counter
			? metrics_counter_fn(reg, table[i].name, table[i].help, table[i].fn, NULL)
			: metrics_gauge_fn(reg, table[i].name, table[i].help, table[i].fn, NULL);
		if (rc != 0)
			return rc;
	}
	return 0;
}
