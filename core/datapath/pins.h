/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * core/datapath/pins.h - the datapath's further BPF objects (the uplink
 * program, the sk_lookup program) work on the maps the endpoint programs'
 * object pinned (core/datapath/datapath.c): before loading, each of their
 * bw_* maps is pointed at its pin, which libbpf then reuses. Internal to
 * core/datapath/.
 */
#ifndef BW_DATAPATH_PINS_H
#define BW_DATAPATH_PINS_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

/* Returns 0, or -ENAMETOOLONG / libbpf's error. */
static inline int dp_reuse_pins(struct bpf_object *obj, const char *bpffs_dir)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int rc;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		/* per-object scratch space and sections are not shared */
		if (strncmp(name, "bw_", 3) != 0 || strcmp(name, "bw_scratch") == 0 ||
		    bpf_map__is_internal(map)) /* .bss, .rodata, .kconfig: the object's own */
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", bpffs_dir, name) >= sizeof(path))
			return -ENAMETOOLONG;
		rc = bpf_map__set_pin_path(map, path);
		if (rc < 0)
			return rc;
	}
	return 0;
}

#endif /* BW_DATAPATH_PINS_H */
