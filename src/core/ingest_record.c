
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_record.h"
#include "ingest_tus.h"

#include <string.h>


/* "ingest-record" .. "metadata": at most 11 lines */
#define INGEST_RECORD_LINES     11

/* an id and the space before the next one */
#define INGEST_RECORD_PART_LEN  (INGEST_ID_LEN + 1)


typedef struct {
    ingest_str_t         key;
    ingest_str_t         value;
} ingest_record_line_t;

typedef struct {
    unsigned char       *pos;
    unsigned char       *end;
    unsigned             error:1;
} ingest_record_out_t;


static int ingest_record_key(const ingest_record_line_t *line,
    const char *key);
static int ingest_record_word(const ingest_str_t *v, const char *const *words,
    int *out);
static int ingest_record_i64(const ingest_str_t *v, int64_t *out);
static int ingest_record_owner_valid(const unsigned char *p, size_t len);
static int ingest_record_session_valid(const unsigned char *p, size_t len);
static int ingest_record_parts_valid(const unsigned char *p, size_t len);
static int ingest_record_metadata_valid(const unsigned char *p, size_t len);
static void ingest_record_put(ingest_record_out_t *o, const void *data,
    size_t len);
static void ingest_record_put_u64(ingest_record_out_t *o, uint64_t v);


static const char *const  ingest_record_protocols[] = {
    "tus", "s3", NULL
};

static const char *const  ingest_record_states[] = {
    "open", "complete", "pending", "quarantined", NULL
};

static const char *const  ingest_record_concats[] = {
    "none", "partial", "final", NULL
};


int
ingest_record_parse(ingest_record_t *rec, const unsigned char *buf,
    size_t len)
{
    int                    v;
    size_t                 n, i;
    uint64_t               u;
    const unsigned char   *pos, *end, *nl, *sp;
    ingest_record_line_t   lines[INGEST_RECORD_LINES];

    memset(rec, 0, sizeof(ingest_record_t));

    if (buf == NULL || len == 0 || len > INGEST_RECORD_MAX) {
        return -1;
    }

    /* split into lines; only the last one may lack its '\n' */

    pos = buf;
    end = buf + len;
    n = 0;

    while (pos < end) {
        if (n == INGEST_RECORD_LINES) {
            return -1;
        }

        nl = memchr(pos, '\n', (size_t) (end - pos));
        if (nl == NULL) {
            nl = end;
        }

        sp = memchr(pos, ' ', (size_t) (nl - pos));

        lines[n].key.data = pos;

        if (sp != NULL) {
            lines[n].key.len = (size_t) (sp - pos);
            lines[n].value.data = sp + 1;
            lines[n].value.len = (size_t) (nl - sp - 1);

        } else {
            lines[n].key.len = (size_t) (nl - pos);
            lines[n].value.data = nl;
            lines[n].value.len = 0;
        }

        n++;
        pos = (nl < end) ? nl + 1 : end;
    }

    i = 0;

    if (i == n || !ingest_record_key(&lines[i], "ingest-record")
        || lines[i].value.len != 1 || lines[i].value.data[0] != '1')
    {
        return -1;
    }

    i++;

    if (i == n || !ingest_record_key(&lines[i], "protocol")
        || ingest_record_word(&lines[i].value, ingest_record_protocols, &v)
           != 0)
    {
        return -1;
    }

    rec->protocol = (ingest_proto_t) v;
    i++;

    if (i == n || !ingest_record_key(&lines[i], "length")) {
        return -1;
    }

    if (lines[i].value.len == 1 && lines[i].value.data[0] == '-') {
        rec->deferred = 1;

    } else if (ingest_parse_u64(lines[i].value.data, lines[i].value.len,
                                &rec->length)
               != 0)
    {
        return -1;
    }

    i++;

    if (i == n || !ingest_record_key(&lines[i], "state")
        || ingest_record_word(&lines[i].value, ingest_record_states, &v) != 0)
    {
        return -1;
    }

    rec->state = (ingest_state_t) v;
    i++;

    if (i == n || !ingest_record_key(&lines[i], "concat")
        || ingest_record_word(&lines[i].value, ingest_record_concats,
                              &rec->concat)
           != 0)
    {
        return -1;
    }

    i++;

    if (i == n || !ingest_record_key(&lines[i], "created")
        || ingest_record_i64(&lines[i].value, &rec->created) != 0)
    {
        return -1;
    }

    i++;

    if (i == n || !ingest_record_key(&lines[i], "expires")
        || ingest_record_i64(&lines[i].value, &rec->expires) != 0)
    {
        return -1;
    }

    i++;

    if (i == n || !ingest_record_key(&lines[i], "owner")) {
        return -1;
    }

    if (lines[i].value.len == 1 && lines[i].value.data[0] == '-') {
        rec->owner.data = NULL;
        rec->owner.len = 0;

    } else if (ingest_record_owner_valid(lines[i].value.data,
                                         lines[i].value.len))
    {
        rec->owner = lines[i].value;

    } else {
        return -1;
    }

    i++;

    if (i < n && ingest_record_key(&lines[i], "session")) {
        if (!ingest_record_session_valid(lines[i].value.data,
                                         lines[i].value.len))
        {
            return -1;
        }

        rec->session = lines[i].value;
        i++;
    }

    if (i < n && ingest_record_key(&lines[i], "verify")) {
        if (ingest_parse_u64(lines[i].value.data, lines[i].value.len, &u)
            != 0)
        {
            return -1;
        }

        rec->has_verify = 1;
        rec->verify = u;
        i++;
    }

    if (i < n && ingest_record_key(&lines[i], "parts")) {
        if (!ingest_record_parts_valid(lines[i].value.data,
                                       lines[i].value.len))
        {
            return -1;
        }

        rec->parts = lines[i].value;
        i++;
    }

    /* parts are there exactly for final uploads */

    if ((rec->concat == INGEST_TUS_CONCAT_FINAL) != (rec->parts.len != 0)) {
        return -1;
    }

    if (i == n || !ingest_record_key(&lines[i], "metadata")
        || !ingest_record_metadata_valid(lines[i].value.data,
                                         lines[i].value.len))
    {
        return -1;
    }

    if (lines[i].value.len != 0) {
        rec->metadata = lines[i].value;
    }

    i++;

    if (i != n) {
        return -1;
    }

    return 0;
}


size_t
ingest_record_format(const ingest_record_t *rec, unsigned char *out,
    size_t cap)
{
    ingest_record_out_t  o;

    /*
     * Nothing is written that ingest_record_parse() would reject, so a
     * record always reads back: invalid fields also return 0.
     */

    if ((unsigned) rec->protocol > INGEST_PROTO_S3
        || (unsigned) rec->state > INGEST_STATE_QUARANTINED
        || rec->concat < INGEST_TUS_CONCAT_NONE
        || rec->concat > INGEST_TUS_CONCAT_FINAL
        || (!rec->deferred && rec->length > INGEST_MAX_OFF)
        || (rec->has_verify && rec->verify > INGEST_MAX_OFF)
        || rec->created < 0 || rec->expires < 0
        || (rec->session.len != 0
            && !ingest_record_session_valid(rec->session.data,
                                            rec->session.len))
        || (rec->owner.len != 0
            && (!ingest_record_owner_valid(rec->owner.data, rec->owner.len)
                || (rec->owner.len == 1 && rec->owner.data[0] == '-')))
        || (rec->parts.len != 0
            && !ingest_record_parts_valid(rec->parts.data, rec->parts.len))
        || (rec->concat == INGEST_TUS_CONCAT_FINAL) != (rec->parts.len != 0)
        || !ingest_record_metadata_valid(rec->metadata.data,
                                         rec->metadata.len))
    {
        return 0;
    }

    if (cap > INGEST_RECORD_MAX) {
        cap = INGEST_RECORD_MAX;
    }

    o.pos = out;
    o.end = out + cap;
    o.error = 0;

    ingest_record_put(&o, "ingest-record 1\nprotocol ", 25);
    ingest_record_put(&o, ingest_record_protocols[rec->protocol],
                      strlen(ingest_record_protocols[rec->protocol]));

    ingest_record_put(&o, "\nlength ", 8);

    if (rec->deferred) {
        ingest_record_put(&o, "-", 1);

    } else {
        ingest_record_put_u64(&o, rec->length);
    }

    ingest_record_put(&o, "\nstate ", 7);
    ingest_record_put(&o, ingest_record_states[rec->state],
                      strlen(ingest_record_states[rec->state]));

    ingest_record_put(&o, "\nconcat ", 8);
    ingest_record_put(&o, ingest_record_concats[rec->concat],
                      strlen(ingest_record_concats[rec->concat]));

    ingest_record_put(&o, "\ncreated ", 9);
    ingest_record_put_u64(&o, (uint64_t) rec->created);

    ingest_record_put(&o, "\nexpires ", 9);
    ingest_record_put_u64(&o, (uint64_t) rec->expires);

    ingest_record_put(&o, "\nowner ", 7);

    if (rec->owner.len == 0) {
        ingest_record_put(&o, "-", 1);

    } else {
        ingest_record_put(&o, rec->owner.data, rec->owner.len);
    }

    if (rec->session.len != 0) {
        ingest_record_put(&o, "\nsession ", 9);
        ingest_record_put(&o, rec->session.data, rec->session.len);
    }

    if (rec->has_verify) {
        ingest_record_put(&o, "\nverify ", 8);
        ingest_record_put_u64(&o, rec->verify);
    }

    if (rec->parts.len != 0) {
        ingest_record_put(&o, "\nparts ", 7);
        ingest_record_put(&o, rec->parts.data, rec->parts.len);
    }

    ingest_record_put(&o, "\nmetadata ", 10);
    ingest_record_put(&o, rec->metadata.data, rec->metadata.len);
    ingest_record_put(&o, "\n", 1);

    if (o.error) {
        return 0;
    }

    return (size_t) (o.pos - out);
}


int
ingest_record_expired(const ingest_record_t *rec, int64_t now)
{
    return rec->expires != 0 && rec->expires <= now;
}


size_t
ingest_record_nparts(const ingest_record_t *rec)
{
    if (rec->parts.data == NULL || rec->parts.len < INGEST_ID_LEN) {
        return 0;
    }

    return (rec->parts.len + 1) / INGEST_RECORD_PART_LEN;
}


const unsigned char *
ingest_record_part(const ingest_record_t *rec, size_t i)
{
    if (i >= ingest_record_nparts(rec)) {
        return NULL;
    }

    return rec->parts.data + i * INGEST_RECORD_PART_LEN;
}


static int
ingest_record_key(const ingest_record_line_t *line, const char *key)
{
    size_t  len;

    len = strlen(key);

    return line->key.len == len && memcmp(line->key.data, key, len) == 0;
}


static int
ingest_record_word(const ingest_str_t *v, const char *const *words, int *out)
{
    int     i;
    size_t  len;

    for (i = 0; words[i] != NULL; i++) {
        len = strlen(words[i]);

        if (v->len == len && memcmp(v->data, words[i], len) == 0) {
            *out = i;
            return 0;
        }
    }

    return -1;
}


static int
ingest_record_i64(const ingest_str_t *v, int64_t *out)
{
    uint64_t  u;

    if (ingest_parse_u64(v->data, v->len, &u) != 0) {
        return -1;
    }

    *out = (int64_t) u;

    return 0;
}


static int
ingest_record_owner_valid(const unsigned char *p, size_t len)
{
    size_t  i;

    if (p == NULL || len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


/* one or more ids joined by single spaces, at most INGEST_TUS_MAX_PARTS */

static int
ingest_record_parts_valid(const unsigned char *p, size_t len)
{
    size_t  i, n;

    if (p == NULL || len < INGEST_ID_LEN
        || (len + 1) % INGEST_RECORD_PART_LEN != 0)
    {
        return 0;
    }

    n = (len + 1) / INGEST_RECORD_PART_LEN;

    if (n > INGEST_TUS_MAX_PARTS) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (!ingest_id_valid(p + i * INGEST_RECORD_PART_LEN, INGEST_ID_LEN)) {
            return 0;
        }

        if (i + 1 < n && p[i * INGEST_RECORD_PART_LEN + INGEST_ID_LEN] != ' ')
        {
            return 0;
        }
    }

    return 1;
}


static int
ingest_record_metadata_valid(const unsigned char *p, size_t len)
{
    if (len == 0) {
        return 1;
    }

    if (p == NULL) {
        return 0;
    }

    /* this also keeps '\n' and other control bytes out of the record */

    return ingest_tus_metadata_validate(p, len) == INGEST_TUS_OK;
}


static void
ingest_record_put(ingest_record_out_t *o, const void *data, size_t len)
{
    if (o->error || len == 0) {
        return;
    }

    if ((size_t) (o->end - o->pos) < len) {
        o->error = 1;
        return;
    }

    memcpy(o->pos, data, len);
    o->pos += len;
}


static void
ingest_record_put_u64(ingest_record_out_t *o, uint64_t v)
{
    size_t         n;
    unsigned char  tmp[20];

    n = ingest_format_u64(tmp, v);
    ingest_record_put(o, tmp, n);
}


/* a session id: INGEST_ID_LEN lowercase hex digits, like upload ids */
static int
ingest_record_session_valid(const unsigned char *p, size_t len)
{
    return ingest_id_valid(p, len);
}
