/*
 * urlenc.c — percent-encode a query value, mask api_key for logs.
 *
 * ARI reads its credentials from the query (api_key=USER:PASS) of the
 * WebSocket URL.  Asterisk percent-decodes the value and then splits it at
 * the first ':', so everything but RFC 3986's unreserved characters is
 * encoded, ':' included: a ':' inside the user name must not become the
 * separator.  Encoding is byte-wise, so UTF-8 names come out as one %XX
 * per byte, which is what a decoder expects.
 */
#include <string.h>

#include "urlenc.h"

#define URLENC_MASK	"***"

/* RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
static int
urlenc_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/*
 * Encode src into dst, always NUL-terminated when dstsize > 0.  Like
 * strlcpy(), returns the length the whole encoding needs (without the NUL):
 * a result >= dstsize means dst was too small; it then holds a prefix that
 * never ends inside a %XX triplet.
 */
size_t
urlenc(char *dst, size_t dstsize, const char *src)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s;
	size_t			 need = 0, out = 0, step;

	for (s = (const unsigned char *)src; *s != '\0'; s++) {
		step = urlenc_unreserved(*s) ? 1 : 3;
		if (out == need && need + step < dstsize) {
			if (step == 1)
				dst[out] = (char)*s;
			else {
				dst[out] = '%';
				dst[out + 1] = hex[*s >> 4];
				dst[out + 2] = hex[*s & 0x0f];
			}
			out += step;
		}
		need += step;
	}
	if (dstsize > 0)
		dst[out] = '\0';
	return need;
}

/* Append len bytes of src at *off, never past size - 1; count them all. */
static void
urlenc_append(char *dst, size_t size, size_t *off, const char *src,
    size_t len)
{
	size_t	room;

	if (*off < size) {
		room = size - 1 - *off;
		memcpy(dst + *off, src, len < room ? len : room);
	}
	*off += len;
}

/*
 * Copy url into dst with the secret half of every api_key value replaced
 * by "***": "api_key=mai:s3cret&x=1" becomes "api_key=mai:***&x=1".  A
 * value without ':' is masked whole.  The user name stays readable because
 * it helps to see which account was refused.  Returns the length needed,
 * as urlenc() does; dst is always NUL-terminated when dstsize > 0.
 */
size_t
urlenc_mask_api_key(char *dst, size_t dstsize, const char *url)
{
	static const char	 key[] = "api_key=";
	const char		*p = url, *hit, *val, *end, *colon;
	size_t			 off = 0;

	while ((hit = strstr(p, key)) != NULL) {
		/* Only a parameter: right after '?' or '&'. */
		val = hit + sizeof(key) - 1;
		if (hit != url && hit[-1] != '?' && hit[-1] != '&') {
			urlenc_append(dst, dstsize, &off, p, (size_t)(val - p));
			p = val;
			continue;
		}
		end = val + strcspn(val, "&#");
		colon = memchr(val, ':', (size_t)(end - val));
		urlenc_append(dst, dstsize, &off, p,
		    (size_t)((colon != NULL ? colon + 1 : val) - p));
		urlenc_append(dst, dstsize, &off, URLENC_MASK,
		    sizeof(URLENC_MASK) - 1);
		p = end;
	}
	urlenc_append(dst, dstsize, &off, p, strlen(p));
	if (dstsize > 0)
		dst[off < dstsize ? off : dstsize - 1] = '\0';
	return off;
}

/* Absolute, printable, no blanks and no fragment: curl must not guess. */
int
ari_path_ok(const char *path)
{
	const unsigned char	*p = (const unsigned char *)path;

	if (p == NULL || *p != '/')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '#')
			return 0;
	return 1;
}

/* http(s)://HOST..., the rest as printable as an ARI path. */
int
ari_url_ok(const char *url)
{
	size_t	skip;

	if (url == NULL)
		return 0;
	if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else
		return 0;
	if (url[skip] == '\0' || url[skip] == '/')
		return 0;
	return ari_path_ok(url + skip - 1);
}
