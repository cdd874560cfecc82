/* api.h - the request handlers named by the route table. */
#ifndef HOSTLINK_API_H
#define HOSTLINK_API_H

struct request;

/* api_ops.c */
void api_ping(struct request *req);
void api_healthz(struct request *req);
void api_status(struct request *req);
void api_metrics(struct request *req);

/* api_profile.c */
void api_profile_get(struct request *req);
void api_profile_put(struct request *req);

#endif
