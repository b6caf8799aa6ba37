/*
 * urlenc.h — percent-encoding for URL query values (RFC 3986), and the
 * masking of credentials in a URL before it reaches a log line.
 */
#ifndef MAI_URLENC_H
#define MAI_URLENC_H

#include <stddef.h>

/* urlenc.c */
size_t	urlenc(char *, size_t, const char *);
size_t	urlenc_mask_api_key(char *, size_t, const char *);

#endif /* MAI_URLENC_H */
