#ifndef LIMITLAB_CGSL_SHIM_H
#define LIMITLAB_CGSL_SHIM_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

/* gsl_rng_mt19937 is a mutable C global (GSL_VAR); Swift 6 refuses to read it from any
   concurrency domain. A function returning it is safe: GSL never writes the variable. */
static inline const gsl_rng_type *limitlab_gsl_rng_mt19937(void) { return gsl_rng_mt19937; }

/* GSL's default error handler calls abort(). limitlab checks return codes instead, so the
   handler is switched off once, at start-up, from Swift. */
static inline void limitlab_gsl_disable_abort(void) { (void)gsl_set_error_handler_off(); }

#endif
