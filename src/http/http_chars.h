/* The RFC 9110 character classes shared by the head parser (parser.c,
 * parser_whole.c) and the chunked decoder (chunked.c): one table, defined
 * in parser.c, and the runs of a class skipped several bytes at a time. */
#ifndef TULIP_HTTP_CHARS_H
#define TULIP_HTTP_CHARS_H

#include <stdint.h>
#include <string.h>

enum {
    C_TCHAR = 1,   /* token: header names, methods, transfer codings */
    C_VALUE = 2,   /* field values and reason phrases: HTAB SP VCHAR obs-text */
    C_TARGET = 4,  /* request-target: visible ASCII only */
    C_DIGIT = 8,
    C_HEX = 16,
};

/* Built by the compiler from the RFC grammar rather than typed as 256
 * numbers, so the table can be checked against the definitions by eye. */
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_TCHAR(c)                                                                      \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || \
     (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||  \
     (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define CLS(c)                                                          \
    ((IS_TCHAR(c) ? C_TCHAR : 0) |                                      \
     (((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f)) ? C_VALUE : 0) |   \
     (((c) > 0x20 && (c) < 0x7f) ? C_TARGET : 0) | (IS_DIGIT(c) ? C_DIGIT : 0) | \
     (IS_HEX(c) ? C_HEX : 0))
#define R4(b) CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

extern const unsigned char tulip__http_cls[256];
#define cls tulip__http_cls

#define HEXVAL(c) ((c) <= '9' ? (unsigned)(c) - '0' : ((unsigned)(c) | 0x20) - 'a' + 10)
#define IS_WS(c) ((c) == ' ' || (c) == '\t')

/* Eight bytes at a time (SWAR): a mask with the high bit set in each
 * byte that stops a run of value bytes (below 0x20, HTAB included, or DEL;
 * 0x80-0xFF is obs-text and passes) or of target bytes (outside
 * 0x21-0x7E). A subtraction borrows, and an addition carries, only out of
 * a byte that is itself flagged, so the first flagged byte is exact (later
 * ones may not be, and are not used). */
#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t load8(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

static inline uint64_t stops_value(uint64_t x)
{
    uint64_t del = x ^ (SWAR_ONES * 0x7f);
    return (((x - SWAR_ONES * 0x20) & ~x) | ((del - SWAR_ONES) & ~del)) & SWAR_HIGHS;
}

static inline uint64_t stops_target(uint64_t x)
{
    return (((x - SWAR_ONES * 0x21) & ~x) | (x + SWAR_ONES) | x) & SWAR_HIGHS;
}

/* Where the first flagged byte of a nonzero mask of the 8 bytes at p is
 * (the byte loop after finds it where the byte order is not known). */
static inline const unsigned char *first_stop(const unsigned char *p, uint64_t m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return p + (__builtin_ctzll(m) >> 3);
#else
    (void)m;
    return p;
#endif
}

/* The first byte at or after p, before end, not of class C_VALUE. */
static inline const unsigned char *skip_value(const unsigned char *p, const unsigned char *end)
{
    for (;;) {
        uint64_t m = 0;
        while (end - p >= 8 && !(m = stops_value(load8(p))))
            p += 8;
        if (m)
            p = first_stop(p, m);
        while (p < end && (cls[*p] & C_VALUE) && *p != '\t')
            p++;
        if (p == end || *p != '\t')
            return p;
        p++; /* HTAB stops the words but not the value */
    }
}

/* The first byte at or after p, before end, not of class C_TARGET. */
static inline const unsigned char *skip_target(const unsigned char *p, const unsigned char *end)
{
    uint64_t m = 0;
    while (end - p >= 8 && !(m = stops_target(load8(p))))
        p += 8;
    if (m)
        return first_stop(p, m);
    while (p < end && (cls[*p] & C_TARGET))
        p++;
    return p;
}

/* The first byte at or after p, before end, that is not a tchar (names
 * are short: four table look-ups per step). */
static inline const unsigned char *skip_token(const unsigned char *p, const unsigned char *end)
{
    while (end - p >= 4 && (cls[p[0]] & cls[p[1]] & cls[p[2]] & cls[p[3]] & C_TCHAR))
        p += 4;
    while (p < end && (cls[*p] & C_TCHAR))
        p++;
    return p;
}
#endif
