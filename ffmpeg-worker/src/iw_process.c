
/*
 * Copyright (C) nginx video ingest developers
 */


#define _GNU_SOURCE

#include "iw_process.h"
#include "iw_backoff.h"
#include "iw_enc.h"
#include "iw_files.h"
#include "iw_live.h"
#include "iw_log.h"
#include "iw_metrics.h"
#include "iw_notify.h"
#include "iw_redis.h"
#include "iw_spool.h"
#include "iw_task.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#define IW_MAX_PROCS        1024

#define IW_PROC_JOB         0
#define IW_PROC_LIVE        1
#define IW_PROC_HOOK        2
#define IW_PROC_FEED        3

/* a job process that dies sooner than this counts as a failed start */
#define IW_MIN_UPTIME_MS    10000

/*
 * The metrics file is at most this old while jobs or live streams run,
 * and this long at most behind a change of the queue
 */
#define IW_METRICS_FRESH_MS 1000


typedef struct {
    pid_t                pid;
    int                  slot;          /* -1: retiring after a reload */
} iw_proc_t;


typedef struct {
    pid_t                pid;           /* 0: not running */
    unsigned             type;          /* IW_PROC_* */
    unsigned             fails;
    int64_t              started;
    int64_t              respawn_at;
} iw_slot_t;


static void iw_signal_handler(int signo);
static int iw_signals_init(sigset_t *blocked);
static pid_t iw_spawn(iw_conf_t *conf, iw_proc_t *procs, unsigned *nprocs,
    int slot, unsigned type, int lfd);
static void iw_child_init(void);
static void iw_live_cycle(const iw_conf_t *conf, int lfd)
    __attribute__((noreturn));
static int iw_live_socket(const iw_conf_t *conf, const iw_conf_t *old,
    int lfd);
static unsigned iw_slots(const iw_conf_t *conf, iw_slot_t *slots, int lfd);
static void iw_reap(iw_conf_t *conf, iw_proc_t *procs, unsigned *nprocs,
    iw_slot_t *slots, int stopping);
static void iw_signal_procs(iw_proc_t *procs, unsigned nprocs, int signo);
static void iw_worker_wait(int ifd, unsigned ms, const sigset_t *mask);
static int iw_metrics_write(const iw_conf_t *conf);
static int iw_master_watch(const iw_conf_t *conf);
static int iw_master_changed(int ifd);


volatile int  iw_quit;
volatile int  iw_terminate;

static volatile int  iw_sigchld;
static volatile int  iw_sigalrm;
static volatile int  iw_sigio;
static volatile int  iw_reconfigure;

static pid_t         iw_master_pid;
static int           iw_master_ifd = -1;


int
iw_conf_load(iw_conf_t *conf, const iw_options_t *opt, char *err,
    size_t errlen)
{
    int             rc;
    char           *text, *reason, msg[512];
    size_t          len;
    unsigned long   line;

    iw_conf_init(conf);

    if (opt->conf_file != NULL) {
        if (iw_file_read(opt->conf_file, 1024 * 1024, &text, &len) != 0) {
            snprintf(err, errlen, "cannot read \"%s\": %s", opt->conf_file,
                     strerror(errno));
            return -1;
        }

        rc = iw_conf_parse(conf, text, len, msg, sizeof(msg));
        free(text);

        if (rc != 0) {
            /* "line N: reason" as nginx says it: "reason in file:N" */

            line = 0;
            reason = msg;

            if (strncmp(msg, "line ", 5) == 0) {
                line = strtoul(msg + 5, &reason, 10);
            }

            if (line != 0 && strncmp(reason, ": ", 2) == 0) {
                snprintf(err, errlen, "%s in %s:%lu", reason + 2,
                         opt->conf_file, line);

            } else {
                snprintf(err, errlen, "%s in %s", msg, opt->conf_file);
            }

            return -1;
        }
    }

    if (opt->spool != NULL) {
        snprintf(conf->spool, sizeof(conf->spool), "%s", opt->spool);
    }

    if (opt->output != NULL) {
        snprintf(conf->output, sizeof(conf->output), "%s", opt->output);
    }

    if (opt->workers != 0) {
        conf->workers = opt->workers;
    }

    if (opt->syslog) {
        conf->syslog = 1;
    }

    if (conf->metrics[0] == '\0') {
        snprintf(conf->metrics, sizeof(conf->metrics), "%.*s/worker.prom",
                 (int) sizeof(conf->metrics) - 16, conf->spool);

    } else if (strcmp(conf->metrics, "off") == 0) {
        conf->metrics[0] = '\0';
    }

    if (conf->live_output[0] == '\0') {
        snprintf(conf->live_output, sizeof(conf->live_output), "%.*s/live",
                 (int) sizeof(conf->live_output) - 8, conf->output);
    }

    if (iw_conf_check(conf, err, errlen) != 0) {
        return -1;
    }

    /* what libx264 and the AAC encoder would refuse, refused now */

    return iw_enc_check(conf, opt->conf_file, err, errlen);
}


int
iw_master_cycle(iw_conf_t *conf, const iw_options_t *opt)
{
    int                stopping, lfd, active;
    char               err[1024];
    pid_t              pid;
    int64_t            now, next, next_reclaim, next_metrics, last_metrics;
    sigset_t           blocked, empty;
    unsigned           i, nprocs, nslots, incoming, claimed;
    iw_conf_t         *nconf;
    iw_proc_t         *procs;
    iw_slot_t         *slots;
    struct itimerval   itv;

    procs = calloc(IW_MAX_PROCS, sizeof(iw_proc_t));
    slots = calloc(IW_MAX_PROCS, sizeof(iw_slot_t));

    if (procs == NULL || slots == NULL || iw_signals_init(&blocked) != 0) {
        iw_log(IW_LOG_ERR, "master: cannot start");
        return 1;
    }

    sigemptyset(&empty);

    iw_master_pid = getpid();

    /* counters every process adds to, kept across reloads */

    iw_stats = mmap(NULL, sizeof(iw_stats_t), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (iw_stats == MAP_FAILED) {
        iw_log_errno(IW_LOG_ERR, errno, "master: mmap() failed");
        iw_stats = NULL;
    }

    now = iw_now_ms();

    if (iw_spool_reclaim(conf, 0, now) > 0) {
        iw_log(IW_LOG_NOTICE, "master: requeued jobs of dead workers");
    }

    lfd = iw_live_socket(conf, NULL, -1);
    if (conf->live_socket[0] != '\0' && lfd == -1) {
        free(procs);
        free(slots);
        return 1;
    }

    nprocs = 0;
    nslots = iw_slots(conf, slots, lfd);

    /* changes of the queue wake the master up (SIGIO) */
    iw_master_ifd = iw_master_watch(conf);

    next_reclaim = iw_monotonic_ms() + conf->reclaim_ms;
    next_metrics = iw_monotonic_ms();
    last_metrics = INT64_MIN / 2;
    stopping = 0;

    iw_log(IW_LOG_NOTICE, "master: started, %u job processes, spool \"%s\", "
           "output \"%s\"", conf->workers, conf->spool, conf->output);

    for ( ;; ) {
        now = iw_monotonic_ms();

        if (!stopping) {
            for (i = 0; i < nslots; i++) {
                if (slots[i].pid != 0 || slots[i].respawn_at > now) {
                    continue;
                }

                pid = iw_spawn(conf, procs, &nprocs, (int) i,
                               slots[i].type, lfd);

                if (pid > 0) {
                    slots[i].pid = pid;
                    slots[i].started = now;

                } else {
                    slots[i].fails++;
                    slots[i].respawn_at = now
                        + (int64_t) iw_backoff_ms(conf->respawn_base_ms, 2,
                                                  conf->respawn_max_ms,
                                                  slots[i].fails, 0);
                }
            }

            if (now >= next_reclaim) {
                if (iw_spool_reclaim(conf, 0, iw_now_ms()) > 0) {
                    iw_log(IW_LOG_NOTICE, "master: requeued jobs of dead "
                           "workers");
                }

                if (iw_spool_depth(conf, &incoming, &claimed) == 0) {
                    iw_log(IW_LOG_INFO, "master: queue depth %u (%u "
                           "waiting, %u running)", incoming + claimed,
                           incoming, claimed);
                }

                next_metrics = now;
                next_reclaim = now + conf->reclaim_ms;
            }

            /*
             * The metrics file: every second while jobs or live streams
             * run, within a second of a change of the queue, else with
             * the reclaim scan; never more often than every second.
             */

            if (now >= next_metrics) {
                active = iw_metrics_write(conf);
                last_metrics = now;
                next_metrics = now + (active > 0 ? IW_METRICS_FRESH_MS
                                                 : conf->reclaim_ms);
            }
        }

        if (stopping && nprocs == 0) {
            break;
        }

        /* the next timer: a respawn, the reclaim scan or the metrics */

        next = next_reclaim < next_metrics ? next_reclaim : next_metrics;

        for (i = 0; i < nslots && !stopping; i++) {
            if (slots[i].pid == 0 && slots[i].respawn_at < next) {
                next = slots[i].respawn_at;
            }
        }

        if (!stopping) {
            next -= now;
            if (next < 1) {
                next = 1;
            }

            memset(&itv, 0, sizeof(itv));
            itv.it_value.tv_sec = next / 1000;
            itv.it_value.tv_usec = (next % 1000) * 1000;
            setitimer(ITIMER_REAL, &itv, NULL);
        }

        /* signals are blocked but here: no flag can be missed */
        sigsuspend(&empty);

        if (iw_sigchld) {
            iw_sigchld = 0;
            iw_reap(conf, procs, &nprocs, slots, stopping);
        }

        iw_sigalrm = 0;

        if (iw_sigio) {
            iw_sigio = 0;

            if (iw_master_changed(iw_master_ifd)
                && next_metrics > last_metrics + IW_METRICS_FRESH_MS)
            {
                next_metrics = last_metrics + IW_METRICS_FRESH_MS;
            }
        }

        if ((iw_terminate || iw_quit) && !stopping) {
            stopping = 1;

            iw_log(IW_LOG_NOTICE, "master: %s stop",
                   iw_terminate ? "fast" : "graceful");

            iw_signal_procs(procs, nprocs, iw_terminate ? SIGTERM : SIGQUIT);

            memset(&itv, 0, sizeof(itv));
            setitimer(ITIMER_REAL, &itv, NULL);

        } else if (iw_terminate && stopping == 1) {
            /* a graceful stop turned into a fast one */
            stopping = 2;
            iw_signal_procs(procs, nprocs, SIGTERM);
        }

        if (iw_reconfigure) {
            iw_reconfigure = 0;

            if (stopping) {
                continue;
            }

            iw_log(IW_LOG_NOTICE, "master: reconfiguring");

            nconf = malloc(sizeof(iw_conf_t));

            if (nconf == NULL
                || iw_conf_load(nconf, opt, err, sizeof(err)) != 0)
            {
                iw_log(IW_LOG_ERR, "master: configuration not reloaded: "
                       "%s", nconf == NULL ? "out of memory" : err);
                free(nconf);
                continue;
            }

            lfd = iw_live_socket(nconf, conf, lfd);

            if (strcmp(nconf->spool, conf->spool) != 0) {
                iw_log(IW_LOG_WARN, "master: \"spool\" cannot change on "
                       "reload, keeping \"%s\"", conf->spool);
                memcpy(nconf->spool, conf->spool, sizeof(conf->spool));
            }

            if (iw_spool_prepare(nconf) != 0) {
                free(nconf);
                continue;
            }

            memcpy(conf, nconf, sizeof(iw_conf_t));
            free(nconf);

            iw_log_init(conf->log_level, conf->syslog);

            /* old job processes finish their job and exit */

            for (i = 0; i < nprocs; i++) {
                if (procs[i].slot >= 0) {
                    procs[i].slot = -1;
                    kill(procs[i].pid, SIGQUIT);
                }
            }

            nslots = iw_slots(conf, slots, lfd);
        }
    }

    if (lfd != -1) {
        close(lfd);
        (void) unlink(conf->live_socket);
    }

    if (iw_master_ifd != -1) {
        close(iw_master_ifd);
        iw_master_ifd = -1;
    }

    (void) iw_metrics_write(conf);

    iw_log(IW_LOG_NOTICE, "master: exiting");

    free(procs);
    free(slots);

    return 0;
}


static unsigned
iw_slots(const iw_conf_t *conf, iw_slot_t *slots, int lfd)
{
    unsigned  i, n;

    n = conf->workers + (lfd != -1 ? conf->live_workers : 0);

    memset(slots, 0, IW_MAX_PROCS * sizeof(iw_slot_t));

    for (i = conf->workers; i < n; i++) {
        slots[i].type = IW_PROC_LIVE;
    }

    if (conf->webhooks) {
        slots[n++].type = IW_PROC_HOOK;
    }

    if (conf->redis) {
        slots[n++].type = IW_PROC_FEED;
    }

    return n;
}


/* the listening socket for live input after a (re)configuration */

static int
iw_live_socket(const iw_conf_t *conf, const iw_conf_t *old, int lfd)
{
    if (old != NULL && lfd != -1) {
        if (strcmp(conf->live_socket, old->live_socket) == 0) {
            return lfd;
        }

        close(lfd);
        (void) unlink(old->live_socket);
        lfd = -1;
    }

    if (conf->live_socket[0] == '\0') {
        return -1;
    }

    lfd = iw_live_listen(conf->live_socket);

    if (lfd != -1) {
        iw_log(IW_LOG_NOTICE, "master: live input on \"%s\", output "
               "\"%s\"", conf->live_socket, conf->live_output);
    }

    return lfd;
}


static pid_t
iw_spawn(iw_conf_t *conf, iw_proc_t *procs, unsigned *nprocs, int slot,
    unsigned type, int lfd)
{
    pid_t  pid;

    if (*nprocs == IW_MAX_PROCS) {
        iw_log(IW_LOG_ERR, "master: too many processes");
        return -1;
    }

    pid = fork();

    if (pid == -1) {
        iw_log_errno(IW_LOG_ERR, errno, "master: fork() failed");
        return -1;
    }

    if (pid == 0) {
        if (type == IW_PROC_LIVE) {
            iw_live_cycle(conf, lfd);
        }

        if (lfd != -1) {
            close(lfd);
        }

        if (type == IW_PROC_HOOK) {
            iw_child_init();
            iw_notify_cycle(conf);
        }

        if (type == IW_PROC_FEED) {
            iw_child_init();
            iw_redis_feed_cycle(conf);
        }

        iw_worker_cycle(conf);
    }

    procs[*nprocs].pid = pid;
    procs[*nprocs].slot = slot;
    (*nprocs)++;

    iw_log(IW_LOG_INFO, "master: started job process %ld", (long) pid);

    return pid;
}


static void
iw_reap(iw_conf_t *conf, iw_proc_t *procs, unsigned *nprocs,
    iw_slot_t *slots, int stopping)
{
    int         status, failed, n;
    pid_t       pid;
    int64_t     now;
    unsigned    i;
    iw_slot_t  *s;

    for ( ;; ) {
        pid = waitpid(-1, &status, WNOHANG);

        if (pid == 0) {
            return;
        }

        if (pid == -1) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }

        for (i = 0; i < *nprocs; i++) {
            if (procs[i].pid == pid) {
                break;
            }
        }

        if (i == *nprocs) {
            continue;
        }

        failed = 1;

        if (WIFSIGNALED(status)) {
            iw_log(IW_LOG_WARN, "master: job process %ld exited on signal "
                   "%d", (long) pid, WTERMSIG(status));

        } else if (WEXITSTATUS(status) != 0) {
            iw_log(IW_LOG_WARN, "master: job process %ld exited with code "
                   "%d", (long) pid, WEXITSTATUS(status));

        } else {
            iw_log(IW_LOG_INFO, "master: job process %ld exited",
                   (long) pid);
            failed = 0;
        }

        /* whatever it held goes back to the queue right away */

        n = iw_spool_reclaim(conf, pid, iw_now_ms());
        if (n > 0) {
            iw_log(IW_LOG_NOTICE, "master: requeued %d job(s) of job "
                   "process %ld", n, (long) pid);
        }

        if (procs[i].slot >= 0 && !stopping) {
            s = &slots[procs[i].slot];
            now = iw_monotonic_ms();

            if (failed || now - s->started < IW_MIN_UPTIME_MS) {
                s->fails++;
            } else {
                s->fails = 0;
            }

            s->pid = 0;
            s->respawn_at = now
                + (int64_t) iw_backoff_ms(conf->respawn_base_ms, 2,
                                          conf->respawn_max_ms, s->fails,
                                          0);

            if (s->fails != 0) {
                iw_log(IW_LOG_NOTICE, "master: respawning in %lld ms",
                       (long long) (s->respawn_at - now));
            }
        }

        procs[i] = procs[--(*nprocs)];
    }
}


static void
iw_signal_procs(iw_proc_t *procs, unsigned nprocs, int signo)
{
    unsigned  i;

    for (i = 0; i < nprocs; i++) {
        if (kill(procs[i].pid, signo) == -1 && errno != ESRCH) {
            iw_log_errno(IW_LOG_ERR, errno, "master: kill(%ld, %d) failed",
                         (long) procs[i].pid, signo);
        }
    }
}


static int
iw_signals_init(sigset_t *blocked)
{
    unsigned          i;
    struct sigaction  sa;
    int               sigs[] = { SIGCHLD, SIGALRM, SIGTERM, SIGINT, SIGQUIT,
                                 SIGHUP, SIGIO };

    sigemptyset(blocked);

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaddset(blocked, sigs[i]);
    }

    if (sigprocmask(SIG_BLOCK, blocked, NULL) == -1) {
        return -1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = iw_signal_handler;
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask);

    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (sigaction(sigs[i], &sa, NULL) == -1) {
            return -1;
        }
    }

    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    return 0;
}


static void
iw_signal_handler(int signo)
{
    switch (signo) {

    case SIGCHLD:
        iw_sigchld = 1;
        break;

    case SIGALRM:
        iw_sigalrm = 1;
        break;

    case SIGTERM:
    case SIGINT:
        iw_terminate = 1;
        break;

    case SIGQUIT:
        iw_quit = 1;
        break;

    case SIGHUP:
        iw_reconfigure = 1;
        break;

    case SIGIO:
        iw_sigio = 1;
        break;
    }
}


void
iw_worker_cycle(const iw_conf_t *conf)
{
    int                rc, ifd;
    char               path[4096];
    int64_t            now;
    sigset_t           blocked, empty;
    iw_job_t           job;
    iw_spool_t         sp;

    iw_child_init();

    sigemptyset(&empty);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGQUIT);
    sigprocmask(SIG_SETMASK, &blocked, NULL);

    srandom((unsigned) (getpid() ^ iw_now_ms()));

    if (iw_spool_open(&sp, conf) != 0) {
        exit(2);
    }

    if (conf->redis) {
        sp.redis = iw_redis_connect(conf, sp.worker);
        if (sp.redis == NULL) {
            iw_spool_close(&sp);
            exit(2);
        }
    }

    snprintf(path, sizeof(path), "%s/incoming", conf->spool);

    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd != -1
        && inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CLOSE_WRITE) == -1)
    {
        iw_log_errno(IW_LOG_WARN, errno, "inotify_add_watch(\"%s\") failed, "
                     "polling", path);
        close(ifd);
        ifd = -1;
    }

    iw_log(IW_LOG_INFO, "job process %s ready", sp.worker);

    while (!iw_quit && !iw_terminate) {
        now = iw_now_ms();

        if (sp.redis != NULL) {
            /* blocks up to poll_interval in XREADGROUP */
            rc = iw_redis_claim(&sp, &job, now);

        } else {
            rc = iw_spool_claim(&sp, &job, now);
        }

        if (rc == 1) {
            /* signals set flags that the job checks between packets */
            sigprocmask(SIG_SETMASK, &empty, NULL);

            iw_task_run(&sp, &job);
            iw_job_free(&job);

            sigprocmask(SIG_SETMASK, &blocked, NULL);
            continue;
        }

        if (rc == -1) {
            /* the queue is unreachable: let the master back off */
            iw_spool_close(&sp);
            exit(2);
        }

        if (sp.redis == NULL) {
            iw_worker_wait(ifd, conf->poll_ms, &empty);

        } else {
            /* a stop between two reads: the check above sees it */
            sigprocmask(SIG_SETMASK, &empty, NULL);
            sigprocmask(SIG_SETMASK, &blocked, NULL);
        }
    }

    iw_redis_leave(sp.redis);
    iw_redis_close(sp.redis);
    iw_spool_close(&sp);

    exit(0);
}


static void
iw_child_init(void)
{
    struct itimerval  itv;
    struct sigaction  sa;

    /* the master's timer and flags are not ours */

    memset(&itv, 0, sizeof(itv));
    setitimer(ITIMER_REAL, &itv, NULL);

    iw_quit = 0;
    iw_terminate = 0;
    iw_sigchld = 0;
    iw_sigalrm = 0;
    iw_sigio = 0;
    iw_reconfigure = 0;

    if (iw_master_ifd != -1) {
        close(iw_master_ifd);
        iw_master_ifd = -1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGIO, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);

    /* a master killed with SIGKILL still gets its jobs released */

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1
        || getppid() != iw_master_pid)
    {
        exit(2);
    }
}


/*
 * A live input process: accepts one stream at a time on the master's
 * listening socket; a stop ends the stream with a final playlist.
 */

static void
iw_live_cycle(const iw_conf_t *conf, int lfd)
{
    int              fd;
    sigset_t         blocked, empty;
    struct pollfd    pfd;
    struct timespec  ts;

    iw_child_init();

    sigemptyset(&empty);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGQUIT);
    sigprocmask(SIG_SETMASK, &blocked, NULL);

    iw_log(IW_LOG_INFO, "live process ready");

    while (!iw_quit && !iw_terminate) {
        pfd.fd = lfd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        ts.tv_sec = 1;
        ts.tv_nsec = 0;

        if (ppoll(&pfd, 1, &ts, &empty) <= 0) {
            continue;
        }

        /* another live process may have taken it: EAGAIN */

        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -1) {
            continue;
        }

        sigprocmask(SIG_SETMASK, &empty, NULL);
        iw_live_run(conf, fd);
        sigprocmask(SIG_SETMASK, &blocked, NULL);
    }

    exit(0);
}


/* returns the jobs and live streams running, -1 when nothing written */

static int
iw_metrics_write(const iw_conf_t *conf)
{
    char      text[8192];
    size_t    len;
    unsigned  incoming, claimed;

    if (iw_stats == NULL || conf->metrics[0] == '\0'
        || iw_spool_depth(conf, &incoming, &claimed) != 0)
    {
        return -1;
    }

    len = iw_metrics_format(iw_stats, incoming, claimed, conf->workers,
                            text, sizeof(text));

    if (len != 0 && iw_file_write(conf->metrics, text, len, 0) != 0) {
        iw_log_errno(IW_LOG_WARN, errno, "cannot write \"%s\"",
                     conf->metrics);
    }

    return (int) (claimed + iw_stats->live_streams);
}


/*
 * An inotify descriptor on the directories jobs move between that
 * signals the master (SIGIO) when something arrives or leaves, so the
 * master stays in sigsuspend() and still sees the queue change; -1
 * when not available (the metrics then follow reclaim_interval).
 */

static int
iw_master_watch(const iw_conf_t *conf)
{
    int          fd, n, flags;
    char         path[PATH_MAX];
    unsigned     i;
    const char  *dirs[] = { "incoming", "done", "failed" };

    fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd == -1) {
        iw_log_errno(IW_LOG_WARN, errno, "master: inotify_init1() failed");
        return -1;
    }

    n = 0;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", conf->spool, dirs[i]);

        if (inotify_add_watch(fd, path, IN_MOVED_TO | IN_MOVED_FROM
                              | IN_CLOSE_WRITE | IN_DELETE) != -1)
        {
            n++;
        }
    }

    flags = fcntl(fd, F_GETFL);

    if (n == 0 || flags == -1
        || fcntl(fd, F_SETOWN, getpid()) == -1
        || fcntl(fd, F_SETFL, flags | O_ASYNC) == -1)
    {
        iw_log_errno(IW_LOG_WARN, errno, "master: cannot watch the spool");
        close(fd);
        return -1;
    }

    return fd;
}


/* drains the watch; returns 1 when the queue changed */

static int
iw_master_changed(int ifd)
{
    int   changed;
    char  buf[4096];

    changed = 0;

    while (ifd != -1 && read(ifd, buf, sizeof(buf)) > 0) {
        changed = 1;
    }

    return changed;
}


/* sleeps until a job may have arrived, a signal, or the poll period */

static void
iw_worker_wait(int ifd, unsigned ms, const sigset_t *mask)
{
    char             buf[4096];
    struct pollfd    pfd;
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long) (ms % 1000) * 1000000;

    pfd.fd = ifd;
    pfd.events = POLLIN;
    pfd.revents = 0;

    if (ppoll(&pfd, ifd != -1 ? 1 : 0, &ts, mask) > 0) {
        while (read(ifd, buf, sizeof(buf)) > 0) {
            /* drain */
        }
    }
}
