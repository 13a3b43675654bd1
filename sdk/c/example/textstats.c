/*
 * textstats — an example hermes plugin in C.
 *
 *   count {"text": "..."} -> {"bytes": N, "lines": N, "words": N}
 *   echo  <any JSON object> -> the same bytes (a round trip through the ABI, for benchmarks)
 *
 * Build (from the repository root):
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -Isdk/c \
 *         -o sdk/c/example/textstats.wasm sdk/c/example/textstats.c
 */
#include <stdbool.h>

#include "hermes.h"

static const char DESCRIPTION[] =
    "{\"tools\":["
    "{\"name\":\"count\","
    "\"description\":\"Count the bytes, lines and words of a text. Lines are newline-terminated "
    "runs (a last line without a newline counts); words are runs of non-whitespace.\","
    "\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"text\":{\"type\":\"string\",\"description\":\"The text to measure\"}},"
    "\"required\":[\"text\"]}},"
    "{\"name\":\"echo\","
    "\"description\":\"Return the arguments unchanged (for testing and benchmarks)\","
    "\"parameters\":{\"type\":\"object\"}}"
    "]}";

HERMES_EXPORT("describe") int32_t describe(void) {
    return hermes_output(DESCRIPTION, sizeof DESCRIPTION - 1);
}

/* ---- A minimal JSON reader: enough to find one string member of the top-level object ------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits after "\u"; -1 if malformed. */
static long read_hex4(cursor *c) {
    if (c->end - c->p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(c->p[i]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    c->p += 4;
    return v;
}

static size_t put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a JSON string at c->p (which must be '"'). When out is not NULL the decoded bytes are
 * written there (a decoded string is never longer than its encoding, so a buffer as long as the
 * input suffices) and *outlen receives their count. Returns false if malformed. A lone surrogate
 * decodes to U+FFFD, as Go's encoding/json does. */
static bool parse_string(cursor *c, char *out, size_t *outlen) {
    size_t n = 0;
    if (c->p >= c->end || *c->p != '"') return false;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') {
            if (outlen) *outlen = n;
            return true;
        }
        if (ch < 0x20) return false; /* control characters must be escaped */
        if (ch != '\\') {
            if (out) out[n] = (char)ch;
            n++;
            continue;
        }
        if (c->p >= c->end) return false;
        char e = *c->p++;
        char buf[4];
        size_t k = 1;
        switch (e) {
        case '"': buf[0] = '"'; break;
        case '\\': buf[0] = '\\'; break;
        case '/': buf[0] = '/'; break;
        case 'b': buf[0] = '\b'; break;
        case 'f': buf[0] = '\f'; break;
        case 'n': buf[0] = '\n'; break;
        case 'r': buf[0] = '\r'; break;
        case 't': buf[0] = '\t'; break;
        case 'u': {
            long cp = read_hex4(c);
            if (cp < 0) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* a high surrogate: combine with a following \uDC00-\uDFFF, else U+FFFD */
                cursor save = *c;
                long lo = -1;
                if (c->end - c->p >= 2 && c->p[0] == '\\' && c->p[1] == 'u') {
                    c->p += 2;
                    lo = read_hex4(c);
                    if (lo < 0) return false;
                }
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else {
                    *c = save; /* not a pair: the next escape is decoded on its own */
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            k = put_utf8(buf, (unsigned long)cp);
            break;
        }
        default:
            return false;
        }
        if (out) memcpy(out + n, buf, k);
        n += k;
    }
    return false; /* unterminated */
}

static bool skip_value(cursor *c, int depth);

static bool skip_literal(cursor *c, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return false;
    c->p += n;
    return true;
}

static bool skip_number(cursor *c) {
    const char *start = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    const char *digits = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    if (c->p == digits || (*digits == '0' && c->p - digits > 1)) return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        digits = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        if (c->p == digits) return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        digits = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        if (c->p == digits) return false;
    }
    return c->p > start;
}

/* Skips one value inside an array or object ('[' or '{' at c->p). */
static bool skip_container(cursor *c, int depth) {
    char close = *c->p == '{' ? '}' : ']';
    bool object = close == '}';
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        if (object) {
            if (!parse_string(c, NULL, NULL)) return false;
            skip_ws(c);
            if (c->p >= c->end || *c->p++ != ':') return false;
        }
        if (!skip_value(c, depth + 1)) return false;
        skip_ws(c);
        if (c->p >= c->end) return false;
        char ch = *c->p++;
        if (ch == close) return true;
        if (ch != ',') return false;
        skip_ws(c);
    }
}

static bool skip_value(cursor *c, int depth) {
    if (depth > 128) return false;
    skip_ws(c);
    if (c->p >= c->end) return false;
    switch (*c->p) {
    case '"': return parse_string(c, NULL, NULL);
    case '{':
    case '[': return skip_container(c, depth);
    case 't': return skip_literal(c, "true");
    case 'f': return skip_literal(c, "false");
    case 'n': return skip_literal(c, "null");
    default: return skip_number(c);
    }
}

enum { FOUND, MISSING, NOT_A_STRING, MALFORMED };

/* Finds the string member `key` of the JSON object json[0:len] and decodes it into a new malloc'd
 * buffer (*out, *outlen). The whole document is checked, so trailing garbage is MALFORMED. */
static int get_string_member(const char *json, size_t len, const char *key, char **out, size_t *outlen) {
    cursor c = {json, json + len};
    int result = MISSING;
    *out = NULL;
    *outlen = 0;
    char *name = malloc(len + 1); /* holds any decoded key */
    if (!name) return MALFORMED;
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{') goto malformed;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
        goto done;
    }
    for (;;) {
        size_t nlen;
        if (!parse_string(&c, name, &nlen)) goto malformed;
        skip_ws(&c);
        if (c.p >= c.end || *c.p++ != ':') goto malformed;
        skip_ws(&c);
        bool wanted = nlen == strlen(key) && memcmp(name, key, nlen) == 0;
        if (wanted && c.p < c.end && *c.p == '"') {
            free(*out); /* a repeated key: the last one wins, as in most parsers */
            *out = malloc(c.end - c.p + 1);
            if (!*out || !parse_string(&c, *out, outlen)) goto malformed;
            (*out)[*outlen] = 0;
            result = FOUND;
        } else {
            if (!skip_value(&c, 1)) goto malformed;
            if (wanted) {
                free(*out);
                *out = NULL;
                result = NOT_A_STRING;
            }
        }
        skip_ws(&c);
        if (c.p >= c.end) goto malformed;
        char ch = *c.p++;
        if (ch == '}') break;
        if (ch != ',') goto malformed;
        skip_ws(&c);
    }
done:
    skip_ws(&c);
    if (c.p != c.end) goto malformed;
    free(name);
    return result;
malformed:
    free(name);
    free(*out);
    *out = NULL;
    *outlen = 0;
    return MALFORMED;
}

/* Output helpers (snprintf would pull in stdio and three more WASI imports). */
static size_t append(char *out, size_t k, const char *s) {
    size_t n = strlen(s);
    memcpy(out + k, s, n);
    return k + n;
}

static size_t append_u64(char *out, size_t k, uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) out[k++] = digits[--n];
    return k;
}

/* ---- Tools ---------------------------------------------------------------------------------- */

HERMES_EXPORT("count") int32_t count(void) {
    size_t len;
    char *args = hermes_input(&len);
    if (!args) return hermes_error("out of memory");
    char *text;
    size_t n;
    int r = get_string_member(args, len, "text", &text, &n);
    free(args);
    switch (r) {
    case MISSING: return hermes_error("missing argument \"text\"");
    case NOT_A_STRING: return hermes_error("argument \"text\" must be a string");
    case MALFORMED: return hermes_error("arguments are not a valid JSON object");
    }

    uint64_t lines = 0, words = 0;
    bool in_word = false;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (ch == '\n') lines++;
        bool space = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
        if (!space && !in_word) words++;
        in_word = !space;
    }
    if (n > 0 && text[n - 1] != '\n') lines++; /* an unterminated last line */
    free(text);

    char out[96];
    size_t k = 0;
    k = append(out, k, "{\"bytes\":");
    k = append_u64(out, k, n);
    k = append(out, k, ",\"lines\":");
    k = append_u64(out, k, lines);
    k = append(out, k, ",\"words\":");
    k = append_u64(out, k, words);
    k = append(out, k, "}");
    return hermes_output(out, k);
}

HERMES_EXPORT("echo") int32_t echo(void) {
    size_t len;
    char *args = hermes_input(&len);
    if (!args) return hermes_error("out of memory");
    int32_t rc = hermes_output(args, len);
    free(args);
    return rc;
}
