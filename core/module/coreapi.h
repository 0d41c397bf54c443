/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/module/coreapi.h - struct bw_core_api, the table of core services
 * handed to modules (include/bulwark/module.h). coreapi.c is a composition
 * root: it reaches every subsystem, so nothing below bulwarkd.c includes
 * this header; bulwarkd.c gives the table to bw_modules_init().
 */
#ifndef BW_CORE_COREAPI_H
#define BW_CORE_COREAPI_H

#include <bulwark/module.h>

/* The table (static storage, every member set). */
const struct bw_core_api *bw_coreapi_get(void);

#endif /* BW_CORE_COREAPI_H */
