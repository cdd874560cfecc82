/* compiler.h - attributes that let the compiler hold us to our contracts. */
#ifndef HOSTLINK_COMPILER_H
#define HOSTLINK_COMPILER_H

/* On a function whose failure must not be ignored: one that may answer the
 * request (0, or -1 once it has answered) or opens or commits a transaction. */
#define HL_MUSTCHECK __attribute__((warn_unused_result))

/* printf-style format checking. */
#define HL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

#endif
