
/*
 * Copyright (C) nginx video ingest developers
 *
 * The "srt {}" block and the SRT listener of each worker process.
 *
 * Every worker binds its own UDP socket with SO_REUSEPORT to each
 * "listen" address and hands it to libsrt (srt_bind_acquire), so the
 * kernel sends all datagrams of one caller (one 4-tuple) to the same
 * worker, the one whose libsrt knows the connection.
 *
 * libsrt is driven by one thread per worker: it accepts, reads the
 * payloads, polls statistics and enforces the idle timeout. It talks to
 * the event loop through one mutex-protected message queue (accepted,
 * data, statistics, closed) and an eventfd that nginx polls like any
 * connection; the event loop asks the thread to close a stream through
 * a second queue, picked up within 50 ms. Nothing in the event loop
 * blocks on libsrt.
 *
 * The decision to accept a caller is made in libsrt's listen callback
 * (a libsrt thread) from local state only: the stream id, the token
 * (verified with the configured keys) and a table of the names being
 * published on this node, in shared memory.
 */


#include "ngx_srt.h"
#include "ngx_ingest_metrics.h"

#include <pthread.h>
#include <sys/eventfd.h>


#define NGX_SRT_CHUNK           (64 * 1024)
#define NGX_SRT_RECV_MAX        1500
#define NGX_SRT_POLL_MS         50
#define NGX_SRT_BATCH_MS        10      /* the least time between two
                                           rounds of reads while streams
                                           are live */
#define NGX_SRT_EVENTS          256
#define NGX_SRT_READ_CHUNKS     8       /* 512 KiB a stream a round */
#define NGX_SRT_STATS_MS        1000
#define NGX_SRT_PENDING_HOLD    1500    /* ms a reserved name is held
                                           for its accept against other
                                           callers */
#define NGX_SRT_PENDING_TTL     10000   /* ms an unused reservation
                                           keeps its slot */
#define NGX_SRT_ZONE_MAGIC      0x73727431  /* "srt1" */
#define NGX_SRT_SUB_MAX         127


typedef enum {
    NGX_SRT_MSG_ACCEPT = 0,
    NGX_SRT_MSG_DATA,
    NGX_SRT_MSG_STATS,
    NGX_SRT_MSG_CLOSE,
    NGX_SRT_MSG_CLOSE_REQ               /* event loop to thread */
} ngx_srt_msg_type_e;


typedef struct ngx_srt_msg_s  ngx_srt_msg_t;

struct ngx_srt_msg_s {
    ngx_srt_msg_t              *next;
    ngx_srt_msg_type_e          type;
    ngx_srt_session_t          *session;
    SRTSOCKET                   sock;           /* CLOSE_REQ */
    const char                 *reason;
    ngx_srt_stats_t             stats;
    size_t                      len;
    u_char                      data[1];
};


/* one published name in the node-wide table */
typedef struct {
    ngx_pid_t                   pid;            /* 0: free */
    SRTSOCKET                   sock;
    ngx_uint_t                  server;
    ngx_msec_t                  reserved;       /* CLOCK_MONOTONIC */
    ngx_uint_t                  active;         /* accepted */
    size_t                      len;
    u_char                      name[INGEST_STREAMID_NAME_MAX + 1];
    u_char                      sub[NGX_SRT_SUB_MAX + 1];
} ngx_srt_entry_t;


typedef struct {
    ngx_uint_t                  magic;
    ngx_srt_entry_t             entries[NGX_SRT_TABLE_SIZE];
} ngx_srt_shctx_t;


typedef struct {
    ngx_srt_srv_conf_t         *conf;
    SRTSOCKET                   sock;
    int                         udp;
} ngx_srt_listener_t;


typedef struct {
    ngx_cycle_t                *cycle;
    ngx_log_t                  *log;

    ngx_srt_listener_t         *listeners;
    ngx_uint_t                  nlisteners;
    int                         eid;

    pthread_t                   tid;
    unsigned                    started:1;
    volatile ngx_atomic_t       stop;

    /* thread side */
    ngx_queue_t                 sessions;

    pthread_mutex_t             mutex;
    ngx_srt_msg_t              *out;            /* to the event loop */
    ngx_srt_msg_t             **out_tail;
    ngx_srt_msg_t              *in;             /* to the thread */
    ngx_srt_msg_t             **in_tail;

    int                         efd;
    ngx_connection_t           *notify;

    u_char                     *rbuf;           /* the thread's, CHUNK */

    /* event loop side */
    ngx_queue_t                 live;
    ngx_uint_t                  next_id;
} ngx_srt_worker_t;


static char *ngx_srt_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_srt_init_zone(ngx_shm_zone_t *shm_zone, void *data);
static ngx_int_t ngx_srt_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_srt_init_process(ngx_cycle_t *cycle);
static void ngx_srt_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_srt_listen(ngx_srt_worker_t *w, ngx_srt_listener_t *l,
    ngx_uint_t first);
static int ngx_srt_udp_socket(ngx_srt_srv_conf_t *conf, ngx_log_t *log);
static int ngx_srt_listen_callback(void *opaque, SRTSOCKET ns,
    int hsversion, const struct sockaddr *peer, const char *streamid);
static ngx_uint_t ngx_srt_scope_allows(const char *scope, u_char *name,
    size_t len);
static ingest_streamid_rc_t ngx_srt_reserve(ngx_srt_srv_conf_t *conf,
    SRTSOCKET ns, ingest_streamid_t *sid, ingest_token_claims_t *claims);
static void ngx_srt_release(ngx_uint_t slot, SRTSOCKET sock);
static void *ngx_srt_thread(void *data);
static void ngx_srt_thread_accept(ngx_srt_worker_t *w,
    ngx_srt_listener_t *l, ngx_msec_t now);
static void ngx_srt_thread_read(ngx_srt_worker_t *w, ngx_srt_session_t *s,
    ngx_msec_t now);
static void ngx_srt_thread_perf(ngx_srt_session_t *s);
static void ngx_srt_thread_stats(ngx_srt_worker_t *w, ngx_srt_session_t *s);
static void ngx_srt_thread_close(ngx_srt_worker_t *w, ngx_srt_session_t *s,
    const char *reason);
static ngx_msec_t ngx_srt_now(void);
static void ngx_srt_push(ngx_srt_worker_t *w, ngx_srt_msg_t *m);
static void ngx_srt_notify_handler(ngx_event_t *ev);
static void ngx_srt_process(ngx_srt_worker_t *w, ngx_uint_t exiting);
static void ngx_srt_session_accepted(ngx_srt_worker_t *w,
    ngx_srt_session_t *s);
static void ngx_srt_session_stats(ngx_srt_session_t *s,
    ngx_srt_stats_t *st);
static void ngx_srt_session_finish(ngx_srt_session_t *s,
    ngx_uint_t exiting);
static void ngx_srt_session_free(ngx_srt_session_t *s);
static ngx_uint_t ngx_srt_reject_metric(ingest_streamid_rc_t rc);


ngx_uint_t  ngx_srt_max_module;


static ngx_srt_worker_t  *ngx_srt_worker;
static ngx_srt_shctx_t   *ngx_srt_sh;
static ngx_shmtx_t       *ngx_srt_mutex;

/* metrics go to the HTTP module's zone when its .so is loaded first */
#pragma weak ngx_http_ingest_metric_add
#pragma weak ngx_http_ingest_metric_observe


static ngx_command_t  ngx_srt_commands[] = {

    { ngx_string("srt"),
      NGX_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_NOARGS,
      ngx_srt_block,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_srt_module_ctx = {
    ngx_string("srt"),
    NULL,
    NULL
};


ngx_module_t  ngx_srt_module = {
    NGX_MODULE_V1,
    &ngx_srt_module_ctx,                   /* module context */
    ngx_srt_commands,                      /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_srt_init_module,                   /* init module */
    ngx_srt_init_process,                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_srt_exit_process,                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* Context: any thread (the counters are atomic) */

void
ngx_srt_metric_add(ngx_uint_t metric, ngx_atomic_int_t n)
{
    if (ngx_http_ingest_metric_add != NULL) {
        ngx_http_ingest_metric_add(metric, n);
    }
}


static char *
ngx_srt_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                  *rv;
    ngx_str_t              name = ngx_string("ngx_srt");
    ngx_uint_t             m, i, j, mi;
    ngx_conf_t             pcf;
    ngx_srt_module_t      *module;
    ngx_srt_conf_ctx_t    *ctx;
    ngx_srt_srv_conf_t   **servers;
    ngx_srt_main_conf_t   *mcf;

    if (*(ngx_srt_conf_ctx_t **) conf) {
        return "is duplicate";
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_srt_conf_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    *(ngx_srt_conf_ctx_t **) conf = ctx;

    ngx_srt_max_module = ngx_count_modules(cf->cycle, NGX_SRT_MODULE);

    ctx->main_conf = ngx_pcalloc(cf->pool,
                                 sizeof(void *) * ngx_srt_max_module);
    ctx->srv_conf = ngx_pcalloc(cf->pool,
                                sizeof(void *) * ngx_srt_max_module);
    if (ctx->main_conf == NULL || ctx->srv_conf == NULL) {
        return NGX_CONF_ERROR;
    }

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != NGX_SRT_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;
        mi = cf->cycle->modules[m]->ctx_index;

        if (module->create_main_conf) {
            ctx->main_conf[mi] = module->create_main_conf(cf);
            if (ctx->main_conf[mi] == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        if (module->create_srv_conf) {
            ctx->srv_conf[mi] = module->create_srv_conf(cf);
            if (ctx->srv_conf[mi] == NULL) {
                return NGX_CONF_ERROR;
            }
        }
    }

    pcf = *cf;
    cf->ctx = ctx;
    cf->module_type = NGX_SRT_MODULE;
    cf->cmd_type = NGX_SRT_MAIN_CONF;

    rv = ngx_conf_parse(cf, NULL);

    if (rv != NGX_CONF_OK) {
        *cf = pcf;
        return rv;
    }

    mcf = ctx->main_conf[ngx_srt_core_module.ctx_index];
    servers = mcf->servers.elts;

    for (m = 0; cf->cycle->modules[m]; m++) {
        if (cf->cycle->modules[m]->type != NGX_SRT_MODULE) {
            continue;
        }

        module = cf->cycle->modules[m]->ctx;
        mi = cf->cycle->modules[m]->ctx_index;

        if (module->init_main_conf) {
            rv = module->init_main_conf(cf, ctx->main_conf[mi]);
            if (rv != NGX_CONF_OK) {
                *cf = pcf;
                return rv;
            }
        }

        if (module->merge_srv_conf == NULL) {
            continue;
        }

        for (i = 0; i < mcf->servers.nelts; i++) {
            cf->ctx = servers[i]->ctx;

            rv = module->merge_srv_conf(cf, ctx->srv_conf[mi],
                                        servers[i]->ctx->srv_conf[mi]);
            if (rv != NGX_CONF_OK) {
                *cf = pcf;
                return rv;
            }
        }
    }

    *cf = pcf;

    if (mcf->servers.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"srt\" block without any \"server\"");
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < mcf->servers.nelts; i++) {
        for (j = 0; j < i; j++) {
            if (ngx_cmp_sockaddr(servers[i]->addr.sockaddr,
                                 servers[i]->addr.socklen,
                                 servers[j]->addr.sockaddr,
                                 servers[j]->addr.socklen, 1)
                == NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate srt \"listen %V\"",
                                   &servers[i]->listen);
                return NGX_CONF_ERROR;
            }
        }
    }

    mcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                          sizeof(ngx_srt_shctx_t)
                                          + 64 * ngx_pagesize,
                                          &ngx_srt_module);
    if (mcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->shm_zone->init = ngx_srt_init_zone;
    mcf->shm_zone->noreuse = 0;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_srt_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_srt_shctx_t  *osh = data;

    ngx_slab_pool_t  *shpool;
    ngx_srt_shctx_t  *sh;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (osh != NULL && osh->magic == NGX_SRT_ZONE_MAGIC) {
        /* reload: the names published by the old workers stay */
        shm_zone->data = osh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_srt_shctx_t));
    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "srt: cannot allocate the stream table");
        return NGX_ERROR;
    }

    sh->magic = NGX_SRT_ZONE_MAGIC;

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


static ngx_srt_main_conf_t *
ngx_srt_main_conf(ngx_cycle_t *cycle)
{
    ngx_srt_conf_ctx_t  *ctx;

    ctx = (ngx_srt_conf_ctx_t *) ngx_get_conf(cycle->conf_ctx,
                                              ngx_srt_module);
    if (ctx == NULL) {
        return NULL;
    }

    return ctx->main_conf[ngx_srt_core_module.ctx_index];
}


/*
 * In the master (start, reload, nginx -t): a trial bind of every listen
 * address, so that a port held by another program fails the start with
 * a clear message instead of every worker failing alone.
 * Context: master
 */

static ngx_int_t
ngx_srt_init_module(ngx_cycle_t *cycle)
{
    int                    fd;
    ngx_uint_t             i;
    ngx_srt_srv_conf_t   **servers;
    ngx_srt_main_conf_t   *mcf;

    mcf = ngx_srt_main_conf(cycle);
    if (mcf == NULL) {
        return NGX_OK;
    }

    servers = mcf->servers.elts;

    for (i = 0; i < mcf->servers.nelts; i++) {
        fd = ngx_srt_udp_socket(servers[i], cycle->log);
        if (fd == -1) {
            return NGX_ERROR;
        }

        (void) close(fd);
    }

    return NGX_OK;
}


/* a UDP socket with SO_REUSEPORT bound to the server's address */

static int
ngx_srt_udp_socket(ngx_srt_srv_conf_t *conf, ngx_log_t *log)
{
    int  fd, on;

    fd = socket(conf->addr.sockaddr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC,
                0);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_socket_errno,
                      "srt: socket() for \"listen %V\" failed",
                      &conf->listen);
        return -1;
    }

    on = 1;

    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_socket_errno,
                      "srt: setsockopt(SO_REUSEPORT) for \"listen %V\" "
                      "failed", &conf->listen);
        (void) close(fd);
        return -1;
    }

    if (bind(fd, conf->addr.sockaddr, conf->addr.socklen) == -1) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_socket_errno,
                      "srt: bind() to %V (UDP) failed: is another program "
                      "using the port?", &conf->listen);
        (void) close(fd);
        return -1;
    }

    return fd;
}


static ngx_int_t
ngx_srt_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t             i, k, n;
    ngx_event_t           *rev;
    ngx_connection_t      *c;
    ngx_srt_worker_t      *w;
    ngx_srt_srv_conf_t   **servers;
    ngx_srt_main_conf_t   *mcf;

    mcf = ngx_srt_main_conf(cycle);
    if (mcf == NULL || mcf->shm_zone == NULL) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_srt_sh = mcf->shm_zone->data;
    ngx_srt_mutex = &((ngx_slab_pool_t *) mcf->shm_zone->shm.addr)->mutex;

    if (srt_startup() < 0) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                      "srt_startup() failed: %s", srt_getlasterror_str());
        return NGX_OK;
    }

    srt_setloglevel(LOG_CRIT);

    w = ngx_pcalloc(cycle->pool, sizeof(ngx_srt_worker_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->cycle = cycle;
    w->log = cycle->log;
    w->efd = -1;
    w->eid = -1;
    w->out_tail = &w->out;
    w->in_tail = &w->in;
    ngx_queue_init(&w->sessions);
    ngx_queue_init(&w->live);

    if (pthread_mutex_init(&w->mutex, NULL) != 0) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                      "srt: pthread_mutex_init() failed");
        return NGX_OK;
    }

    w->rbuf = ngx_palloc(cycle->pool, NGX_SRT_CHUNK);
    if (w->rbuf == NULL) {
        return NGX_ERROR;
    }

    ngx_srt_worker = w;

    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd == -1) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, ngx_errno,
                      "srt: eventfd() failed");
        return NGX_OK;
    }

    c = ngx_get_connection(w->efd, cycle->log);
    if (c == NULL) {
        (void) close(w->efd);
        w->efd = -1;
        return NGX_OK;
    }

    w->notify = c;
    c->data = w;
    rev = c->read;
    rev->handler = ngx_srt_notify_handler;
    rev->log = cycle->log;

    if (ngx_add_event(rev, NGX_READ_EVENT, NGX_CLEAR_EVENT) != NGX_OK) {
        return NGX_OK;
    }

    w->eid = srt_epoll_create();
    if (w->eid < 0) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                      "srt_epoll_create() failed: %s",
                      srt_getlasterror_str());
        return NGX_OK;
    }

    (void) srt_epoll_set(w->eid, SRT_EPOLL_ENABLE_EMPTY);

    servers = mcf->servers.elts;
    n = 0;

    for (i = 0; i < mcf->servers.nelts; i++) {
        n += servers[i]->sockets;
    }

    w->listeners = ngx_pcalloc(cycle->pool, n * sizeof(ngx_srt_listener_t));
    if (w->listeners == NULL) {
        return NGX_ERROR;
    }

    /*
     * "listen ... sockets=N": N UDP sockets of the reuseport group in
     * each worker, each a libsrt listener with its own receive thread
     * and socket buffer
     */

    n = 0;

    for (i = 0; i < mcf->servers.nelts; i++) {
        for (k = 0; k < servers[i]->sockets; k++, n++) {
            w->listeners[n].conf = servers[i];
            w->listeners[n].sock = SRT_INVALID_SOCK;
            w->listeners[n].udp = -1;

            if (ngx_srt_listen(w, &w->listeners[n], k == 0) == NGX_OK) {
                w->nlisteners = n + 1;
            }
        }
    }

    if (pthread_create(&w->tid, NULL, ngx_srt_thread, w) != 0) {
        ngx_log_error(NGX_LOG_CRIT, cycle->log, 0,
                      "srt: pthread_create() failed");
        return NGX_OK;
    }

    w->started = 1;

    return NGX_OK;
}


/* Context: event loop, before the thread starts */

static ngx_int_t
ngx_srt_listen(ngx_srt_worker_t *w, ngx_srt_listener_t *l, ngx_uint_t first)
{
    int                  yes, no, v, events;
    SRTSOCKET            sock;
    ngx_srt_srv_conf_t  *conf;

    conf = l->conf;
    yes = 1;
    no = 0;

    l->udp = ngx_srt_udp_socket(conf, w->log);
    if (l->udp == -1) {
        return NGX_ERROR;
    }

    sock = srt_create_socket();
    if (sock == SRT_INVALID_SOCK) {
        goto failed;
    }

    l->sock = sock;

    if (srt_setsockflag(sock, SRTO_RCVSYN, &no, sizeof(no)) != 0
        || srt_setsockflag(sock, SRTO_SNDSYN, &no, sizeof(no)) != 0)
    {
        goto failed;
    }

    v = (int) conf->latency;

    if (srt_setsockflag(sock, SRTO_RCVLATENCY, &v, sizeof(v)) != 0
        || srt_setsockflag(sock, SRTO_PEERLATENCY, &v, sizeof(v)) != 0)
    {
        goto failed;
    }

    v = (int) conf->payload_size;

    if (srt_setsockflag(sock, SRTO_PAYLOADSIZE, &v, sizeof(v)) != 0) {
        goto failed;
    }

    v = (int) conf->recv_buffer;

    if (srt_setsockflag(sock, SRTO_RCVBUF, &v, sizeof(v)) != 0
        || srt_setsockflag(sock, SRTO_UDP_RCVBUF, &v, sizeof(v)) != 0)
    {
        goto failed;
    }

    v = (int) conf->idle_timeout;

    if (srt_setsockflag(sock, SRTO_PEERIDLETIMEO, &v, sizeof(v)) != 0) {
        goto failed;
    }

    if (conf->passphrase.len) {
        v = (int) conf->pbkeylen;

        if (srt_setsockflag(sock, SRTO_PASSPHRASE, conf->passphrase.data,
                            (int) conf->passphrase.len)
            != 0
            || (v != 0
                && srt_setsockflag(sock, SRTO_PBKEYLEN, &v, sizeof(v)) != 0)
            || srt_setsockflag(sock, SRTO_ENFORCEDENCRYPTION, &yes,
                               sizeof(yes))
               != 0)
        {
            goto failed;
        }
    }

    if (srt_bind_acquire(sock, l->udp) != 0) {
        goto failed;
    }

    /* libsrt owns the UDP socket now */
    l->udp = -1;

    if (srt_listen_callback(sock, ngx_srt_listen_callback, conf) != 0
        || srt_listen(sock, 128) != 0)
    {
        goto failed;
    }

    events = SRT_EPOLL_IN | SRT_EPOLL_ERR;

    if (srt_epoll_add_usock(w->eid, sock, &events) != 0) {
        goto failed;
    }

    if (first) {
        ngx_log_error(NGX_LOG_INFO, w->log, 0,
                      "srt: listening on %V (UDP, %ui socket%s, latency "
                      "%M ms%s)", &conf->listen, conf->sockets,
                      conf->sockets == 1 ? "" : "s", conf->latency,
                      conf->passphrase.len ? ", encrypted" : "");
    }

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_CRIT, w->log, 0,
                  "srt: cannot listen on %V: %s", &conf->listen,
                  srt_getlasterror_str());

    if (l->sock != SRT_INVALID_SOCK) {
        (void) srt_close(l->sock);
        l->sock = SRT_INVALID_SOCK;
    }

    if (l->udp != -1) {
        (void) close(l->udp);
        l->udp = -1;
    }

    return NGX_ERROR;
}


/*
 * The handshake decision. Returns 0 to accept, -1 to reject with the
 * reason set by srt_setrejectreason().
 * Context: a libsrt thread
 */

static int
ngx_srt_listen_callback(void *opaque, SRTSOCKET ns, int hsversion,
    const struct sockaddr *peer, const char *streamid)
{
    ngx_srt_srv_conf_t *conf = opaque;

    int                     code, yes, keylen;
    char                    addr[NGX_SOCKADDR_STRLEN + 1];
    const char             *name;
    size_t                  n;
    socklen_t               socklen;
    ingest_token_rc_t       trc;
    ingest_streamid_t       sid;
    ingest_streamid_rc_t    rc;
    ingest_token_claims_t   claims;

    /* log lines of this thread carry the right time */
    ngx_time_update();

    socklen = (peer->sa_family == AF_INET6) ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in);
    n = ngx_sock_ntop((struct sockaddr *) peer, socklen, (u_char *) addr,
                      NGX_SOCKADDR_STRLEN, 1);
    addr[n] = '\0';

    ngx_memzero(&claims, sizeof(claims));
    name = NULL;

    if (hsversion < 5) {
        /* HSv4 callers (libsrt < 1.3) cannot send a stream id */
        rc = INGEST_STREAMID_EMPTY;
        goto reject;
    }

    rc = ingest_streamid_parse((const u_char *) streamid,
                               streamid ? ngx_strlen(streamid) : 0, &sid);
    if (rc != INGEST_STREAMID_OK) {
        goto reject;
    }

    name = (const char *) sid.resource.data;

    rc = ingest_streamid_check_mode(&sid, INGEST_STREAMID_MODE_PUBLISH,
                                    INGEST_STREAMID_MODE_PUBLISH);
    if (rc != INGEST_STREAMID_OK) {
        goto reject;
    }

    if (conf->token) {
        if (sid.token.data == NULL) {
            rc = INGEST_STREAMID_NO_TOKEN;
            goto reject;
        }

        trc = ingest_token_verify(conf->keyset, sid.token.data, sid.token.len,
                                  (int64_t) time(NULL), conf->leeway,
                                  &claims);

        if (trc == INGEST_TOKEN_OK
            && !ingest_token_has_audience(&claims,
                                          (char *) conf->audience.data))
        {
            trc = INGEST_TOKEN_WRONG_AUDIENCE;
        }

        if (trc == INGEST_TOKEN_OK
            && !ngx_srt_scope_allows(claims.scope,
                                     (u_char *) sid.resource.data,
                                     sid.resource.len))
        {
            trc = INGEST_TOKEN_SCOPE;
        }

        if (trc != INGEST_TOKEN_OK) {
            rc = ingest_streamid_token_rc(trc);

            code = ingest_streamid_srt_reject(rc);
            (void) srt_setrejectreason(ns, code);
            ngx_srt_metric_add(ngx_srt_reject_metric(rc), 1);

            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "srt: rejected %s on %V, stream \"%s\" "
                          "(sub \"%s\"): %s: %s (%d)", addr, &conf->listen,
                          sid.resource.data, claims.sub,
                          ingest_streamid_reason(rc),
                          ingest_token_reason(trc), code);
            return -1;
        }
    }

    /*
     * A passphrase in the token is this caller's, instead of the
     * server's: libsrt checks it in the key exchange that follows.
     */

    if (claims.srt_passphrase[0] != '\0') {
        yes = 1;
        keylen = (int) conf->pbkeylen;

        if (srt_setsockflag(ns, SRTO_PASSPHRASE, claims.srt_passphrase,
                            (int) ngx_strlen(claims.srt_passphrase))
            != 0
            || (keylen != 0
                && srt_setsockflag(ns, SRTO_PBKEYLEN, &keylen,
                                   sizeof(keylen))
                   != 0)
            || srt_setsockflag(ns, SRTO_ENFORCEDENCRYPTION, &yes,
                               sizeof(yes))
               != 0)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "srt: cannot set the passphrase of the token on "
                          "the socket of %s: %s", addr,
                          srt_getlasterror_str());
            rc = INGEST_STREAMID_INTERNAL;
            goto reject;
        }
    }

    rc = ngx_srt_reserve(conf, ns, &sid, &claims);
    if (rc != INGEST_STREAMID_OK) {
        goto reject;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                   "srt: %s publishes \"%s\" on %V, passphrase of the %s",
                   addr, sid.resource.data, &conf->listen,
                   claims.srt_passphrase[0] ? "token" : "server");

    return 0;

reject:

    code = ingest_streamid_srt_reject(rc);
    (void) srt_setrejectreason(ns, code);
    ngx_srt_metric_add(ngx_srt_reject_metric(rc), 1);

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "srt: rejected %s on %V%s%s%s: %s (%d)", addr,
                  &conf->listen, name ? ", stream \"" : "",
                  name ? name : "", name ? "\"" : "",
                  ingest_streamid_reason(rc), code);

    return -1;
}


static ngx_uint_t
ngx_srt_reject_metric(ingest_streamid_rc_t rc)
{
    switch (rc) {

    case INGEST_STREAMID_NO_TOKEN:
        return NGX_HTTP_INGEST_M_SRT_ERR_NO_TOKEN;

    case INGEST_STREAMID_BAD_TOKEN:
    case INGEST_STREAMID_TOKEN_INVALID:
        return NGX_HTTP_INGEST_M_SRT_ERR_TOKEN_INVALID;

    case INGEST_STREAMID_TOKEN_EXPIRED:
        return NGX_HTTP_INGEST_M_SRT_ERR_TOKEN_EXPIRED;

    case INGEST_STREAMID_FORBIDDEN:
    case INGEST_STREAMID_NOT_FOUND:
        return NGX_HTTP_INGEST_M_SRT_ERR_FORBIDDEN;

    case INGEST_STREAMID_BAD_MODE:
        return NGX_HTTP_INGEST_M_SRT_ERR_BAD_MODE;

    case INGEST_STREAMID_CONFLICT:
        return NGX_HTTP_INGEST_M_SRT_ERR_CONFLICT;

    case INGEST_STREAMID_OVERLOAD:
        return NGX_HTTP_INGEST_M_SRT_ERR_OVERLOAD;

    case INGEST_STREAMID_BAD_TYPE:
        return NGX_HTTP_INGEST_M_SRT_ERR_MEDIA;

    case INGEST_STREAMID_INTERNAL:
        return NGX_HTTP_INGEST_M_SRT_ERR_INTERNAL;

    default:
        return NGX_HTTP_INGEST_M_SRT_ERR_BAD_REQUEST;
    }
}


/*
 * A token's scope is a stream name prefix at a "/" boundary: "live"
 * allows "live" and "live/...", "live/" allows what is below it; an
 * empty scope allows every name.
 */

static ngx_uint_t
ngx_srt_scope_allows(const char *scope, u_char *name, size_t len)
{
    size_t  n;

    n = ngx_strlen(scope);

    if (n == 0) {
        return 1;
    }

    if (n > len || ngx_strncmp(scope, name, n) != 0) {
        return 0;
    }

    return n == len || scope[n - 1] == '/' || name[n] == '/';
}


/*
 * Reserves the stream name in the node-wide table: CONFLICT when it is
 * published already (by any worker), OVERLOAD above max_streams of the
 * server. A reservation becomes active when the socket is accepted.
 * Context: a libsrt thread
 */

static ingest_streamid_rc_t
ngx_srt_reserve(ngx_srt_srv_conf_t *conf, SRTSOCKET ns,
    ingest_streamid_t *sid, ingest_token_claims_t *claims)
{
    ngx_msec_t             now, age;
    ngx_uint_t             i, count, len, same;
    ngx_srt_entry_t       *e, *free;
    ingest_streamid_rc_t   rc;

    if (ngx_srt_sh == NULL) {
        return INGEST_STREAMID_INTERNAL;
    }

    free = NULL;
    count = 0;
    rc = INGEST_STREAMID_OK;

    ngx_shmtx_lock(ngx_srt_mutex);

    /*
     * The clock is read under the lock: handshakes are decided by several
     * threads and processes at once, and an entry reserved after a clock
     * reading taken before the lock would look ages old (unsigned
     * arithmetic) and be taken from its owner.
     */

    now = ngx_srt_now();

    for (i = 0; i < NGX_SRT_TABLE_SIZE; i++) {
        e = &ngx_srt_sh->entries[i];

        if (e->pid == 0) {
            goto empty;
        }

        age = (now > e->reserved) ? now - e->reserved : 0;

        same = (e->len == sid->resource.len
                && ngx_memcmp(e->name, sid->resource.data, e->len) == 0);

        /*
         * A reservation whose handshake failed after this callback (a
         * wrong passphrase, a caller gone) never becomes active: it
         * holds the name for NGX_SRT_PENDING_HOLD only.
         */

        if ((kill(e->pid, 0) == -1 && errno == ESRCH)
            || (!e->active && age > NGX_SRT_PENDING_TTL)
            || (!e->active && same && age > NGX_SRT_PENDING_HOLD))
        {
            e->pid = 0;
            goto empty;
        }

        if (e->server == conf->index) {
            count++;
        }

        if (same) {
            rc = INGEST_STREAMID_CONFLICT;
        }

        continue;

    empty:

        if (free == NULL) {
            free = e;
        }
    }

    if (rc == INGEST_STREAMID_OK && count >= conf->max_streams) {
        rc = INGEST_STREAMID_OVERLOAD;
    }

    if (rc == INGEST_STREAMID_OK && free == NULL) {
        rc = INGEST_STREAMID_OVERLOAD;
    }

    if (rc == INGEST_STREAMID_OK) {
        free->pid = ngx_pid;
        free->sock = ns;
        free->server = conf->index;
        free->reserved = now;
        free->active = 0;
        free->len = sid->resource.len;
        ngx_memcpy(free->name, sid->resource.data, free->len);
        free->name[free->len] = '\0';

        len = ngx_min(ngx_strlen(claims->sub), NGX_SRT_SUB_MAX);
        ngx_memcpy(free->sub, claims->sub, len);
        free->sub[len] = '\0';
    }

    ngx_shmtx_unlock(ngx_srt_mutex);

    return rc;
}


/* Context: the SRT thread, or the event loop at exit */

static void
ngx_srt_release(ngx_uint_t slot, SRTSOCKET sock)
{
    ngx_srt_entry_t  *e;

    if (ngx_srt_sh == NULL || slot >= NGX_SRT_TABLE_SIZE) {
        return;
    }

    ngx_shmtx_lock(ngx_srt_mutex);

    e = &ngx_srt_sh->entries[slot];

    if (e->pid == ngx_pid && e->sock == sock) {
        e->pid = 0;
    }

    ngx_shmtx_unlock(ngx_srt_mutex);
}


/* Context: any thread */

static ngx_msec_t
ngx_srt_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* Context: the SRT thread */

static void *
ngx_srt_thread(void *data)
{
    ngx_srt_worker_t *w = data;

    int                 i, n;
    ngx_uint_t          k, found;
    ngx_msec_t          now, last_tick;
    ngx_queue_t        *q, *next;
    ngx_srt_msg_t      *cmd, *m;
    ngx_srt_session_t  *s;
    sigset_t            set;
    SRT_EPOLL_EVENT     ev[NGX_SRT_EVENTS];

    /* signals are the event loop's */
    (void) sigfillset(&set);
    (void) pthread_sigmask(SIG_BLOCK, &set, NULL);

    last_tick = ngx_srt_now();
    now = last_tick;

    while (!w->stop) {

        /*
         * libsrt hands over each packet at its play time, so a stream
         * is readable hundreds of times a second. Reading in rounds at
         * most every NGX_SRT_BATCH_MS makes one message and one write
         * per relay of several packets instead of one per packet: a
         * few times fewer wake-ups and system calls in this thread and
         * the event loop, for 10 ms more delay in a stream that waits
         * its latency (hundreds of ms) anyway.
         */

        if (!ngx_queue_empty(&w->sessions)) {
            k = ngx_srt_now() - now;

            if (k < NGX_SRT_BATCH_MS) {
                /* ngx_msleep() is a macro: no expression in it */
                k = NGX_SRT_BATCH_MS - k;
                ngx_msleep(k);
            }
        }

        n = srt_epoll_uwait(w->eid, ev, NGX_SRT_EVENTS, NGX_SRT_POLL_MS);

        if (n < 0) {
            ngx_msleep(NGX_SRT_POLL_MS);
            n = 0;
        }

        now = ngx_srt_now();
        ngx_time_update();

        for (i = 0; i < n; i++) {
            found = 0;

            for (k = 0; k < w->nlisteners; k++) {
                if (w->listeners[k].sock == ev[i].fd) {
                    ngx_srt_thread_accept(w, &w->listeners[k], now);
                    found = 1;
                    break;
                }
            }

            if (found) {
                continue;
            }

            for (q = ngx_queue_head(&w->sessions);
                 q != ngx_queue_sentinel(&w->sessions);
                 q = ngx_queue_next(q))
            {
                s = ngx_queue_data(q, ngx_srt_session_t, tqueue);

                if (s->sock == ev[i].fd) {
                    ngx_srt_thread_read(w, s, now);
                    break;
                }
            }
        }

        /* close requests of the event loop */

        (void) pthread_mutex_lock(&w->mutex);
        cmd = w->in;
        w->in = NULL;
        w->in_tail = &w->in;
        (void) pthread_mutex_unlock(&w->mutex);

        while (cmd) {
            m = cmd;
            cmd = cmd->next;

            for (q = ngx_queue_head(&w->sessions);
                 q != ngx_queue_sentinel(&w->sessions);
                 q = ngx_queue_next(q))
            {
                s = ngx_queue_data(q, ngx_srt_session_t, tqueue);

                if (s->sock == m->sock) {
                    ngx_srt_thread_close(w, s, m->reason);
                    break;
                }
            }

            ngx_free(m);
        }

        if (now - last_tick < NGX_SRT_STATS_MS) {
            continue;
        }

        last_tick = now;

        for (q = ngx_queue_head(&w->sessions);
             q != ngx_queue_sentinel(&w->sessions);
             q = next)
        {
            next = ngx_queue_next(q);
            s = ngx_queue_data(q, ngx_srt_session_t, tqueue);

            ngx_srt_thread_stats(w, s);

            if (now - s->last_data >= s->conf->idle_timeout) {
                ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_ERR_IDLE, 1);
                ngx_srt_thread_close(w, s, NGX_SRT_REASON_IDLE);
            }
        }
    }

    while (!ngx_queue_empty(&w->sessions)) {
        q = ngx_queue_head(&w->sessions);
        s = ngx_queue_data(q, ngx_srt_session_t, tqueue);
        ngx_srt_thread_close(w, s, NGX_SRT_REASON_EXITING);
    }

    return NULL;
}


/* Context: the SRT thread */

static void
ngx_srt_thread_accept(ngx_srt_worker_t *w, ngx_srt_listener_t *l,
    ngx_msec_t now)
{
    int                  no, events, addrlen, km, kmlen;
    size_t               len;
    SRTSOCKET            ns;
    ngx_uint_t           i;
    ngx_srt_msg_t       *m;
    ngx_srt_entry_t     *e;
    ngx_srt_session_t   *s;
    struct sockaddr_storage  sa;

    for ( ;; ) {
        addrlen = sizeof(sa);

        ns = srt_accept(l->sock, (struct sockaddr *) &sa, &addrlen);
        if (ns == SRT_INVALID_SOCK) {
            return;
        }

        /*
         * libsrt may hand over a caller whose key exchange failed (the
         * caller already saw BADSECRET or UNSECURE): it could never
         * send anything decryptable, so it is not a session.
         */

        kmlen = sizeof(km);

        if (srt_getsockflag(ns, SRTO_KMSTATE, &km, &kmlen) == 0
            && (km == SRT_KM_S_NOSECRET || km == SRT_KM_S_BADSECRET))
        {
            ngx_log_error(NGX_LOG_INFO, w->log, 0,
                          "srt: a caller without the right passphrase "
                          "closed after the handshake");
            (void) srt_close(ns);
            continue;
        }

        s = ngx_calloc(sizeof(ngx_srt_session_t), w->log);
        m = ngx_calloc(sizeof(ngx_srt_msg_t), w->log);

        if (s == NULL || m == NULL) {
            ngx_free(s);
            ngx_free(m);
            (void) srt_close(ns);
            continue;
        }

        s->sock = ns;
        s->conf = l->conf;
        s->slot = NGX_SRT_TABLE_SIZE;
        s->last_data = now;
        s->last_stats = now;

        len = ngx_sock_ntop((struct sockaddr *) &sa, addrlen, s->peer,
                            NGX_SOCKADDR_STRLEN, 1);
        s->peer[len] = '\0';

        len = ngx_sock_ntop((struct sockaddr *) &sa, addrlen, s->addr,
                            NGX_SOCKADDR_STRLEN, 0);
        s->addr[len] = '\0';
        s->port = ngx_inet_get_port((struct sockaddr *) &sa);

        /* what the listen callback reserved for this socket */

        ngx_shmtx_lock(ngx_srt_mutex);

        for (i = 0; i < NGX_SRT_TABLE_SIZE; i++) {
            e = &ngx_srt_sh->entries[i];

            if (e->pid == ngx_pid && e->sock == ns) {
                e->active = 1;
                s->slot = i;
                s->name_len = e->len;
                ngx_memcpy(s->name, e->name, e->len + 1);
                ngx_memcpy(s->sub, e->sub, ngx_strlen(e->sub) + 1);
                break;
            }
        }

        ngx_shmtx_unlock(ngx_srt_mutex);

        if (s->slot == NGX_SRT_TABLE_SIZE) {
            /* the reservation lapsed: the handshake took too long */
            ngx_log_error(NGX_LOG_INFO, w->log, 0,
                          "srt: %s on %V: no reservation for the accepted "
                          "socket, closed", s->peer, &l->conf->listen);
            (void) srt_close(ns);
            ngx_free(s);
            ngx_free(m);
            continue;
        }

        no = 0;
        (void) srt_setsockflag(ns, SRTO_RCVSYN, &no, sizeof(no));

        events = SRT_EPOLL_IN | SRT_EPOLL_ERR;

        if (srt_epoll_add_usock(w->eid, ns, &events) != 0) {
            ngx_log_error(NGX_LOG_CRIT, w->log, 0,
                          "srt_epoll_add_usock() failed: %s",
                          srt_getlasterror_str());
            ngx_srt_release(s->slot, ns);
            (void) srt_close(ns);
            ngx_free(s);
            ngx_free(m);
            continue;
        }

        ngx_queue_insert_tail(&w->sessions, &s->tqueue);

        m->type = NGX_SRT_MSG_ACCEPT;
        m->session = s;
        ngx_srt_push(w, m);
    }
}


/*
 * Reads what a stream has, in messages of up to NGX_SRT_CHUNK bytes for
 * the event loop, at most NGX_SRT_READ_CHUNKS of them a round.
 * Context: the SRT thread
 */

static void
ngx_srt_thread_read(ngx_srt_worker_t *w, ngx_srt_session_t *s,
    ngx_msec_t now)
{
    int             n, err, events, size;
    size_t          len, limit;
    ngx_uint_t      drop, more, chunks;
    const char     *fail;
    ngx_srt_msg_t  *m;

    more = 1;
    fail = NULL;

    for (chunks = 0; more && fail == NULL && chunks < NGX_SRT_READ_CHUNKS;
         chunks++)
    {
        len = 0;
        more = 0;

        while (len + NGX_SRT_RECV_MAX <= NGX_SRT_CHUNK) {

            n = srt_recvmsg(s->sock, (char *) w->rbuf + len,
                            NGX_SRT_RECV_MAX);

            if (n == SRT_ERROR) {
                err = srt_getlasterror(NULL);

                if (err == SRT_EASYNCRCV) {
                    break;
                }

                if (err == SRT_ECONNLOST) {
                    fail = NGX_SRT_REASON_LOST;
                    break;
                }

                /* libsrt's text is the thread's, not for the event loop */

                ngx_log_error(NGX_LOG_INFO, w->log, 0,
                              "srt: \"%s\" from %s: srt_recvmsg() failed: "
                              "%s", s->name, s->peer,
                              srt_getlasterror_str());

                fail = NGX_SRT_REASON_RECV;
                break;
            }

            if (n == 0) {
                break;
            }

            len += n;
            s->last_data = now;

            /*
             * Asking is cheaper than a read that fails: libsrt reports
             * "nothing to read" with a C++ exception, caught at its API.
             */

            events = 0;
            size = sizeof(events);

            if (srt_getsockflag(s->sock, SRTO_EVENT, &events, &size) == 0
                && (events & SRT_EPOLL_IN) == 0)
            {
                break;
            }

            more = 1;
        }

        if (len == 0) {
            break;
        }

        if (fail == NULL) {
            ngx_srt_thread_perf(s);
        }

        /* the event loop does not keep up: a bounded queue per stream */

        limit = 2 * s->conf->relay_buffer;

        (void) pthread_mutex_lock(&w->mutex);

        drop = (s->queued + len > limit);

        if (!drop) {
            s->queued += len;
        }

        (void) pthread_mutex_unlock(&w->mutex);

        if (drop) {
            ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_BRIDGE_DROPS, len);
            continue;
        }

        m = ngx_alloc(offsetof(ngx_srt_msg_t, data) + len, w->log);
        if (m == NULL) {
            ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_BRIDGE_DROPS, len);

            (void) pthread_mutex_lock(&w->mutex);
            s->queued -= len;
            (void) pthread_mutex_unlock(&w->mutex);

            continue;
        }

        ngx_memzero(m, offsetof(ngx_srt_msg_t, data));
        ngx_memcpy(m->data, w->rbuf, len);
        m->len = len;

        m->type = NGX_SRT_MSG_DATA;
        m->session = s;
        ngx_srt_push(w, m);
    }

    if (fail != NULL) {
        ngx_srt_thread_close(w, s, fail);
    }

    /* more may be waiting: epoll is level-triggered, it comes back */
}


/*
 * libsrt's totals of a stream, kept in the session: a socket that is
 * broken (the caller has closed) has none any more, so they are taken
 * after every round of reads and the last ones are what the session
 * ends with.
 * Context: the SRT thread
 */

static void
ngx_srt_thread_perf(ngx_srt_session_t *s)
{
    SRT_TRACEBSTATS   perf;
    ngx_srt_stats_t  *st;

    if (srt_bistats(s->sock, &perf, 0, 1) != 0) {
        return;
    }

    st = &s->tstats;

    st->packets = (uint64_t) perf.pktRecvTotal;
    st->bytes = perf.byteRecvTotal;
    st->lost = (uint64_t) perf.pktRcvLossTotal;
    st->retrans = (uint64_t) perf.pktRcvRetrans;
    st->drops = (uint64_t) perf.pktRcvDropTotal;
    st->undecrypted = (uint64_t) perf.pktRcvUndecryptTotal;
    st->rtt_ms = perf.msRTT;
    st->mbps = perf.mbpsRecvRate;
}


/* Context: the SRT thread */

static void
ngx_srt_thread_stats(ngx_srt_worker_t *w, ngx_srt_session_t *s)
{
    ngx_srt_msg_t  *m;

    ngx_srt_thread_perf(s);

    m = ngx_calloc(sizeof(ngx_srt_msg_t), w->log);
    if (m == NULL) {
        return;
    }

    m->type = NGX_SRT_MSG_STATS;
    m->session = s;
    m->stats = s->tstats;

    ngx_srt_push(w, m);
}


/* Context: the SRT thread */

static void
ngx_srt_thread_close(ngx_srt_worker_t *w, ngx_srt_session_t *s,
    const char *reason)
{
    ngx_srt_msg_t  *m;

    ngx_srt_thread_stats(w, s);

    (void) srt_epoll_remove_usock(w->eid, s->sock);
    (void) srt_close(s->sock);

    ngx_srt_release(s->slot, s->sock);

    ngx_queue_remove(&s->tqueue);

    m = ngx_calloc(sizeof(ngx_srt_msg_t), w->log);
    if (m == NULL) {
        /* cannot happen in practice; the session leaks */
        return;
    }

    m->type = NGX_SRT_MSG_CLOSE;
    m->session = s;
    m->reason = reason;
    ngx_srt_push(w, m);
}


/* Context: the SRT thread */

static void
ngx_srt_push(ngx_srt_worker_t *w, ngx_srt_msg_t *m)
{
    uint64_t    one;
    ngx_uint_t  wake;

    m->next = NULL;

    (void) pthread_mutex_lock(&w->mutex);

    wake = (w->out == NULL);
    *w->out_tail = m;
    w->out_tail = &m->next;

    (void) pthread_mutex_unlock(&w->mutex);

    if (wake && w->efd != -1) {
        one = 1;

        if (write(w->efd, &one, sizeof(one)) != sizeof(one)) {
            /* the counter is non-zero already: the event loop wakes */
        }
    }
}


/* Context: event loop */

static void
ngx_srt_notify_handler(ngx_event_t *ev)
{
    uint64_t           n;
    ngx_connection_t  *c;
    ngx_srt_worker_t  *w;

    c = ev->data;
    w = c->data;

    if (read(w->efd, &n, sizeof(n)) == -1 && ngx_errno != NGX_EAGAIN) {
        ngx_log_error(NGX_LOG_CRIT, w->log, ngx_errno,
                      "srt: read(eventfd) failed");
    }

    ngx_srt_process(w, 0);
}


/* Context: event loop */

static void
ngx_srt_process(ngx_srt_worker_t *w, ngx_uint_t exiting)
{
    ngx_srt_msg_t      *list, *m;
    ngx_srt_session_t  *s;

    (void) pthread_mutex_lock(&w->mutex);
    list = w->out;
    w->out = NULL;
    w->out_tail = &w->out;
    (void) pthread_mutex_unlock(&w->mutex);

    while (list) {
        m = list;
        list = list->next;
        s = m->session;

        switch (m->type) {

        case NGX_SRT_MSG_ACCEPT:
            if (exiting) {
                s->start = ngx_time();
                s->start_msec = ngx_current_msec;
                ngx_queue_insert_tail(&w->live, &s->queue);
                ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_ACTIVE, 1);
                break;
            }

            ngx_srt_session_accepted(w, s);
            break;

        case NGX_SRT_MSG_DATA:
            (void) pthread_mutex_lock(&w->mutex);
            s->queued -= m->len;
            (void) pthread_mutex_unlock(&w->mutex);

            if (!exiting && !s->closed && !s->close_sent) {
                ngx_srt_relays_data(s, m->data, m->len);
            }

            break;

        case NGX_SRT_MSG_STATS:
            ngx_srt_session_stats(s, &m->stats);
            break;

        case NGX_SRT_MSG_CLOSE:
            s->closed = 1;

            if (s->close_reason == NULL) {
                s->close_reason = m->reason;
            }

            ngx_srt_session_finish(s, exiting);
            break;

        default:
            break;
        }

        ngx_free(m);
    }
}


/* Context: event loop */

static void
ngx_srt_session_accepted(ngx_srt_worker_t *w, ngx_srt_session_t *s)
{
    s->id = ++w->next_id;
    s->start = ngx_time();
    s->start_msec = ngx_current_msec;

    ngx_queue_insert_tail(&w->live, &s->queue);

    ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_ACCEPTED, 1);
    ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_ACTIVE, 1);

    ngx_log_error(NGX_LOG_INFO, w->log, 0,
                  "srt: %s publishes \"%s\" on %V (sub \"%s\")", s->peer,
                  s->name, &s->conf->listen, s->sub);

    if (ngx_srt_relays_start(s) != NGX_OK) {
        ngx_srt_session_close(s, NGX_SRT_REASON_NO_START);
    }
}


/* Context: event loop */

static void
ngx_srt_session_stats(ngx_srt_session_t *s, ngx_srt_stats_t *st)
{
    ngx_int_t         rate;
    ngx_srt_stats_t  *old;

    old = &s->stats;

    if (st->packets > old->packets) {
        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_PACKETS,
                           st->packets - old->packets);
    }

    if (st->bytes > old->bytes) {
        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_BYTES,
                           st->bytes - old->bytes);
    }

    if (st->lost > old->lost) {
        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_LOSS, st->lost - old->lost);
    }

    if (st->retrans > old->retrans) {
        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_RETRANS,
                           st->retrans - old->retrans);
    }

    if (st->drops > old->drops) {
        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_DROPS,
                           st->drops - old->drops);
    }

    if (st->undecrypted > old->undecrypted) {
        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_UNDECRYPTED,
                           st->undecrypted - old->undecrypted);
    }

    if (!s->closed) {
        /* Mbit/s to bytes per second: Prometheus's base unit */
        rate = (ngx_int_t) (st->mbps * 1000000 / 8);

        ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_RATE, rate - s->rate_bps);
        s->rate_bps = rate;

        if (ngx_http_ingest_metric_observe != NULL) {
            ngx_http_ingest_metric_observe(NGX_HTTP_INGEST_M_SRT_RTT,
                                         (uint64_t) (st->rtt_ms * 1000 + 0.5));
        }
    }

    *old = *st;
}


/* Context: event loop */

static void
ngx_srt_session_finish(ngx_srt_session_t *s, ngx_uint_t exiting)
{
    s->finishing = 1;
    ngx_srt_relays_finish(s, exiting);
    s->finishing = 0;

    if (s->nrelays == 0) {
        ngx_srt_session_free(s);
    }
}


/*
 * A relay asks for the end of its stream (all relays gone, say): the
 * thread closes the socket and answers with CLOSE.
 * Context: event loop
 */

void
ngx_srt_session_close(ngx_srt_session_t *s, const char *reason)
{
    ngx_srt_msg_t     *m;
    ngx_srt_worker_t  *w;

    if (s->closed || s->close_sent) {
        return;
    }

    w = ngx_srt_worker;

    m = ngx_calloc(sizeof(ngx_srt_msg_t), w->log);
    if (m == NULL) {
        return;
    }

    s->close_sent = 1;
    s->close_reason = reason;

    m->type = NGX_SRT_MSG_CLOSE_REQ;
    m->sock = s->sock;
    m->reason = reason;

    (void) pthread_mutex_lock(&w->mutex);
    *w->in_tail = m;
    w->in_tail = &m->next;
    (void) pthread_mutex_unlock(&w->mutex);
}


/* a relay has closed; Context: event loop */

void
ngx_srt_session_relay_done(ngx_srt_session_t *s)
{
    s->nrelays--;

    if (s->nrelays > 0 || s->finishing) {
        return;
    }

    if (s->closed) {
        ngx_srt_session_free(s);
        return;
    }

    ngx_srt_session_close(s, NGX_SRT_REASON_NO_RELAY);
}


/* Context: event loop */

static void
ngx_srt_session_free(ngx_srt_session_t *s)
{
    ngx_msec_t           ms;
    ngx_srt_stats_t     *st;

    ms = ngx_current_msec - s->start_msec;
    st = &s->stats;

    ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_ACTIVE, -1);
    ngx_srt_metric_add(NGX_HTTP_INGEST_M_SRT_RATE, -s->rate_bps);

    ngx_log_error(NGX_LOG_INFO, ngx_srt_worker->log, 0,
                  "srt: \"%s\" from %s ended after %M.%03M s: %s; "
                  "packets %uL, bytes %uL, lost %uL, retransmitted %uL, "
                  "dropped %uL, rtt %.3f ms", s->name, s->peer,
                  ms / 1000, ms % 1000,
                  s->close_reason ? s->close_reason : "closed",
                  st->packets, st->bytes, st->lost, st->retrans, st->drops,
                  st->rtt_ms);

    ngx_srt_log_session(s);

    ngx_queue_remove(&s->queue);
    ngx_free(s);
}


/*
 * The name a stream has at the worker's live input and in the RTMP
 * URL: [A-Za-z0-9_-], at most 64 bytes; other bytes become "_".
 */

size_t
ngx_srt_live_name(ngx_srt_session_t *s, u_char *out)
{
    u_char  c;
    size_t  i, n;

    n = ngx_min(s->name_len, 64);

    for (i = 0; i < n; i++) {
        c = s->name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-')
        {
            out[i] = c;

        } else {
            out[i] = '_';
        }
    }

    out[n] = '\0';

    return n;
}


/*
 * Stops the thread (it closes every stream), closes the relays at once
 * and frees what is left. Callers see their connection closed and
 * reconnect, to a new worker after a reload.
 * Context: event loop, at exit
 */

static void
ngx_srt_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t          i;
    ngx_queue_t        *q;
    ngx_srt_worker_t   *w;
    ngx_srt_session_t  *s;

    w = ngx_srt_worker;

    if (w == NULL) {
        return;
    }

    if (w->started) {
        w->stop = 1;
        (void) pthread_join(w->tid, NULL);
        w->started = 0;
    }

    for (i = 0; i < w->nlisteners; i++) {
        if (w->listeners[i].sock != SRT_INVALID_SOCK) {
            (void) srt_close(w->listeners[i].sock);
        }
    }

    ngx_srt_process(w, 1);

    /* sessions whose CLOSE never came (none, unless memory ran out) */

    while (!ngx_queue_empty(&w->live)) {
        q = ngx_queue_head(&w->live);
        s = ngx_queue_data(q, ngx_srt_session_t, queue);
        s->closed = 1;
        ngx_srt_session_finish(s, 1);
    }

    if (w->notify != NULL) {
        ngx_close_connection(w->notify);
        w->notify = NULL;
        w->efd = -1;

    } else if (w->efd != -1) {
        (void) close(w->efd);
        w->efd = -1;
    }

    if (w->eid >= 0) {
        (void) srt_epoll_release(w->eid);
        w->eid = -1;
    }

    (void) srt_cleanup();

    ngx_srt_worker = NULL;
}
