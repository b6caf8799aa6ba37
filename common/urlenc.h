/*
 * urlenc.h — percent-encoding for URL query values (RFC 3986), the
 * masking of credentials in a URL before it reaches a log line, and the
 * checks a path or URL passes before curl sees it.
 */
#ifndef MAI_URLENC_H
#define MAI_URLENC_H

#include <stddef.h>

/* urlenc.c */
size_t	urlenc(char *, size_t, const char *);
size_t	urlenc_mask_api_key(char *, size_t, const char *);
int	ari_path_ok(const char *);
int	ari_url_ok(const char *);

#endif /* MAI_URLENC_H */
