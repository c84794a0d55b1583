
/*
 * Copyright (C) nginx video ingest developers
 *
 * ingest-worker: turns spool jobs written by the nginx ingest module
 * into HLS. See ingest-worker(8).
 */


#include "iw_conf.h"
#include "iw_files.h"
#include "iw_log.h"
#include "iw_process.h"
#include "iw_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>


#define IW_VERSION  "0.1.0"


static void iw_usage(FILE *f);
static int iw_daemonize(void);
static int iw_write_pid(const char *path);


int
main(int argc, char **argv)
{
    int            c, test, rc;
    char           err[1024];
    unsigned long  n;
    iw_conf_t     *conf;
    iw_options_t   opt;

    memset(&opt, 0, sizeof(opt));
    test = 0;

    while ((c = getopt(argc, argv, "c:p:o:n:fstvh")) != -1) {
        switch (c) {

        case 'c':
            opt.conf_file = optarg;
            break;

        case 'p':
            opt.spool = optarg;
            break;

        case 'o':
            opt.output = optarg;
            break;

        case 'n':
            n = strtoul(optarg, NULL, 10);
            if (n == 0 || n > 256) {
                fprintf(stderr, "ingest-worker: invalid -n \"%s\"\n",
                        optarg);
                return 1;
            }
            opt.workers = (unsigned) n;
            break;

        case 'f':
            opt.foreground = 1;
            break;

        case 's':
            opt.syslog = 1;
            break;

        case 't':
            test = 1;
            break;

        case 'v':
            printf("ingest-worker/" IW_VERSION " (libavformat %s)\n",
                   LIBAVFORMAT_IDENT);
            return 0;

        case 'h':
            iw_usage(stdout);
            return 0;

        default:
            iw_usage(stderr);
            return 1;
        }
    }

    if (optind != argc) {
        iw_usage(stderr);
        return 1;
    }

    conf = malloc(sizeof(iw_conf_t));
    if (conf == NULL) {
        fprintf(stderr, "ingest-worker: out of memory\n");
        return 1;
    }

    if (iw_conf_load(conf, &opt, err, sizeof(err)) != 0) {
        fprintf(stderr, "ingest-worker: [emerg] %s\n", err);

        if (test) {
            fprintf(stderr, "ingest-worker: configuration file %s test "
                    "failed\n", opt.conf_file ? opt.conf_file : "(none)");
        }

        free(conf);
        return 1;
    }

    if (test) {
        fprintf(stderr, "ingest-worker: the configuration file %s syntax "
                "is ok\ningest-worker: configuration file %s test is "
                "successful\n", opt.conf_file ? opt.conf_file : "(none)",
                opt.conf_file ? opt.conf_file : "(none)");
        free(conf);
        return 0;
    }

    if (!opt.foreground) {
        /* nobody reads stderr of a daemon */
        conf->syslog = 1;
    }

    iw_log_init(conf->log_level, conf->syslog);
    iw_log_av();
    av_log_set_level(AV_LOG_WARNING);

    if (iw_spool_prepare(conf) != 0) {
        free(conf);
        return 1;
    }

    if (!opt.foreground && iw_daemonize() != 0) {
        free(conf);
        return 1;
    }

    if (conf->pid[0] != '\0' && iw_write_pid(conf->pid) != 0) {
        free(conf);
        return 1;
    }

    rc = iw_master_cycle(conf, &opt);

    if (conf->pid[0] != '\0') {
        (void) unlink(conf->pid);
    }

    free(conf);

    return rc;
}


static void
iw_usage(FILE *f)
{
    fprintf(f,
        "Usage: ingest-worker [-fstvh] [-c file] [-p spool] [-o output] "
        "[-n workers]\n\n"
        "Options:\n"
        "  -c file    configuration file\n"
        "  -p dir     spool directory (overrides \"spool\")\n"
        "  -o dir     output directory (overrides \"output\")\n"
        "  -n number  job processes (overrides \"workers\")\n"
        "  -f         stay in the foreground, log to stderr\n"
        "  -s         log to syslog too\n"
        "  -t         test the configuration and exit\n"
        "  -v         show the version and exit\n"
        "  -h         this help\n");
}


static int
iw_daemonize(void)
{
    int    fd;
    pid_t  pid;

    pid = fork();

    if (pid == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "fork() failed");
        return -1;
    }

    if (pid != 0) {
        exit(0);
    }

    if (setsid() == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "setsid() failed");
        return -1;
    }

    umask(0022);

    if (chdir("/") == -1) {
        return -1;
    }

    fd = open("/dev/null", O_RDWR);
    if (fd == -1) {
        return -1;
    }

    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);

    if (fd > STDERR_FILENO) {
        close(fd);
    }

    return 0;
}


static int
iw_write_pid(const char *path)
{
    int   n;
    char  buf[32];

    n = snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());

    if (iw_file_write(path, buf, n, 0) != 0) {
        iw_log_errno(IW_LOG_ERR, errno, "cannot write \"%s\"", path);
        return -1;
    }

    return 0;
}
