/* text.h - small string writers for the request path, where snprintf's
 * format parsing costs more than the copy (a "%s" into a buffer is about
 * 700 instructions; these are a strlen and a memcpy). */
#ifndef HOSTLINK_TEXT_H
#define HOSTLINK_TEXT_H

#include <stddef.h>
#include <string.h>

/* Copies src into dst[cap] (cap > 0), cut to fit, always terminated, as
 * snprintf(dst, cap, "%s", src) does.  Returns the length copied. */
static inline size_t
text_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* Writes at most max bytes of s at o (the caller has made room); returns
 * the end, terminated. */
static inline char *
text_putn(char *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	memcpy(o, s, n);
	o[n] = '\0';
	return o + n;
}

/* Writes s at o (the caller has made room); returns the end, terminated. */
static inline char *
text_put(char *o, const char *s)
{
	return text_putn(o, s, (size_t)-1);
}

/* Writes v in decimal at o (room for 21); returns the end, terminated. */
static inline char *
text_decimal(char *o, long long v)
{
	char tmp[20], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*o++ = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(o, p, n);
	o[n] = '\0';
	return o + n;
}

#endif
