#ifndef LIMITLAB_CCURL_SHIM_H
#define LIMITLAB_CCURL_SHIM_H

#include <curl/curl.h>

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadics, which Swift
   cannot call. One typed wrapper per argument kind keeps the Swift side type-checked. */

typedef size_t (*limitlab_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode limitlab_curl_easy_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v); /* libcurl copies strings (since 7.17) */
}
static inline CURLcode limitlab_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_data_callback(CURL *h, CURLoption o, limitlab_curl_data_cb cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode limitlab_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode limitlab_curl_easy_getinfo_double(CURL *h, CURLINFO i, double *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode limitlab_curl_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode limitlab_curl_easy_getinfo_string(CURL *h, CURLINFO i, const char **out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLMcode limitlab_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
    return curl_multi_setopt(m, o, v);
}
static inline CURLMcode limitlab_curl_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) {
    return curl_multi_setopt(m, o, v);
}

/* CURLMsg holds a union; Swift reads it more safely through this flattener.
   Returns 1 when msg reports a finished transfer. */
static inline int limitlab_curl_msg_done(const CURLMsg *msg, CURL **easy, CURLcode *result) {
    if (msg == NULL || msg->msg != CURLMSG_DONE) return 0;
    *easy = msg->easy_handle;
    *result = msg->data.result;
    return 1;
}

#endif
