/* The RFC 9110 character classes shared by the head parser (parser.c)
 * and the chunked decoder (chunked.c): one table, defined in parser.c. */
#ifndef TULIP_HTTP_CHARS_H
#define TULIP_HTTP_CHARS_H

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
#endif
