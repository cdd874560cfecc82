/* main.c - hostlinkd: command line, configuration, then the pool or a single process. */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pool.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hostlinkd [-c FILE] [-t]\n"
	    "  -c FILE  configuration file (default: $HOSTLINK_CONFIG or %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -h       this help; -V version\n"
	    "Signals: TERM/INT fast stop, QUIT graceful stop, HUP reload, USR1 reopen log.\n",
	    config_default_path());
}

/* Whether fd is a listening socket handed to us (mod_fcgid, spawn-fcgi). */
static int
inherited_listener(int fd)
{
	int accepting = 0;
	socklen_t len = sizeof(accepting);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 &&
	    accepting;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	char err[CONFIG_ERRLEN * 4];
	struct config *cfg;
	int check = 0, ch, fd;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:thV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hostlinkd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (path == NULL)
		path = config_default_path();
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		config_free(cfg);
		return 0;
	}
	if (log_open(cfg->log_file, (enum log_level)cfg->log_level) < 0) {
		config_free(cfg);
		return 1;
	}
	if (inherited_listener(STDIN_FILENO))
		return pool_run_single(cfg, STDIN_FILENO);
	fd = pool_listen(cfg);
	if (fd < 0) {
		config_free(cfg);
		return 1;
	}
	return pool_run(cfg, path, fd);
}
