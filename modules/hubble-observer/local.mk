# SPDX-License-Identifier: BSD-2-Clause
# modules/hubble-observer/: Hubble's gRPC API (observer.Observer,
# grpc.health.v1.Health, peer.Peer) on a Unix socket and optionally TCP.
#
# The message code is generated at build time by protoc-c from the .proto
# files under proto/ (Hubble's own api/v1 files, the gRPC health protocol
# and bulwark's extensions) and from the well-known types libprotobuf-dev
# installs; it is compiled into a convenience library without the warning
# set (it is not our code) and linked into the module with libbw.la, which
# brings the FlowFilter matcher and the flow JSON helpers.

HUBBLE_PROTO = $(srcdir)/modules/hubble-observer/proto
HUBBLE_PB = modules/hubble-observer/pb
# name (relative to the include roots) of every .proto compiled
HUBBLE_PROTO_FILES = \
	flow/flow.proto relay/relay.proto observer/observer.proto \
	peer/peer.proto grpc/health/v1/health.proto bulwark/extensions.proto \
	google/protobuf/any.proto google/protobuf/wrappers.proto \
	google/protobuf/timestamp.proto google/protobuf/field_mask.proto \
	google/protobuf/struct.proto
# (spelled out: automake derives the objects from literal names)
HUBBLE_PB_C = \
	$(HUBBLE_PB)/flow/flow.pb-c.c \
	$(HUBBLE_PB)/relay/relay.pb-c.c \
	$(HUBBLE_PB)/observer/observer.pb-c.c \
	$(HUBBLE_PB)/peer/peer.pb-c.c \
	$(HUBBLE_PB)/grpc/health/v1/health.pb-c.c \
	$(HUBBLE_PB)/bulwark/extensions.pb-c.c \
	$(HUBBLE_PB)/google/protobuf/any.pb-c.c \
	$(HUBBLE_PB)/google/protobuf/wrappers.pb-c.c \
	$(HUBBLE_PB)/google/protobuf/timestamp.pb-c.c \
	$(HUBBLE_PB)/google/protobuf/field_mask.pb-c.c \
	$(HUBBLE_PB)/google/protobuf/struct.pb-c.c
HUBBLE_PB_H = \
	$(HUBBLE_PB)/flow/flow.pb-c.h \
	$(HUBBLE_PB)/relay/relay.pb-c.h \
	$(HUBBLE_PB)/observer/observer.pb-c.h \
	$(HUBBLE_PB)/peer/peer.pb-c.h \
	$(HUBBLE_PB)/grpc/health/v1/health.pb-c.h \
	$(HUBBLE_PB)/bulwark/extensions.pb-c.h \
	$(HUBBLE_PB)/google/protobuf/any.pb-c.h \
	$(HUBBLE_PB)/google/protobuf/wrappers.pb-c.h \
	$(HUBBLE_PB)/google/protobuf/timestamp.pb-c.h \
	$(HUBBLE_PB)/google/protobuf/field_mask.pb-c.h \
	$(HUBBLE_PB)/google/protobuf/struct.pb-c.h
HUBBLE_PROTO_SRC = \
	modules/hubble-observer/proto/api/v1/flow/flow.proto \
	modules/hubble-observer/proto/api/v1/relay/relay.proto \
	modules/hubble-observer/proto/api/v1/observer/observer.proto \
	modules/hubble-observer/proto/api/v1/peer/peer.proto \
	modules/hubble-observer/proto/grpc/health/v1/health.proto \
	modules/hubble-observer/proto/bulwark/extensions.proto

# One protoc-c run writes every file; the stamp stands for all of them.
$(HUBBLE_PB)/.stamp: $(HUBBLE_PROTO_SRC:%=$(srcdir)/%)
	$(AM_V_GEN)rm -rf $(HUBBLE_PB).tmp && $(MKDIR_P) $(HUBBLE_PB).tmp && \
	$(PROTOC_C) -I$(HUBBLE_PROTO)/api/v1 -I$(HUBBLE_PROTO) \
		-I$(PROTOBUF_PROTO_DIR) --c_out=$(HUBBLE_PB).tmp \
		$(HUBBLE_PROTO_FILES) && \
	rm -rf $(HUBBLE_PB) && mv $(HUBBLE_PB).tmp $(HUBBLE_PB) && touch $@
$(HUBBLE_PB_C) $(HUBBLE_PB_H): $(HUBBLE_PB)/.stamp
	@test -f $@ || { rm -f $(HUBBLE_PB)/.stamp; $(MAKE) $(AM_MAKEFLAGS) $(HUBBLE_PB)/.stamp; }

BUILT_SOURCES += $(HUBBLE_PB)/.stamp
CLEANFILES += $(HUBBLE_PB)/.stamp
clean-local: clean-hubble-pb
clean-hubble-pb:
	-rm -rf $(HUBBLE_PB) $(HUBBLE_PB).tmp
.PHONY: clean-hubble-pb

noinst_LTLIBRARIES += modules/hubble-observer/libhubblepb.la
nodist_modules_hubble_observer_libhubblepb_la_SOURCES = \
	modules/hubble-observer/pb/flow/flow.pb-c.c \
	modules/hubble-observer/pb/relay/relay.pb-c.c \
	modules/hubble-observer/pb/observer/observer.pb-c.c \
	modules/hubble-observer/pb/peer/peer.pb-c.c \
	modules/hubble-observer/pb/grpc/health/v1/health.pb-c.c \
	modules/hubble-observer/pb/bulwark/extensions.pb-c.c \
	modules/hubble-observer/pb/google/protobuf/any.pb-c.c \
	modules/hubble-observer/pb/google/protobuf/wrappers.pb-c.c \
	modules/hubble-observer/pb/google/protobuf/timestamp.pb-c.c \
	modules/hubble-observer/pb/google/protobuf/field_mask.pb-c.c \
	modules/hubble-observer/pb/google/protobuf/struct.pb-c.c
modules_hubble_observer_libhubblepb_la_CPPFLAGS = -I$(HUBBLE_PB) $(PROTOBUF_C_CFLAGS)
modules_hubble_observer_libhubblepb_la_CFLAGS = -fvisibility=hidden
modules_hubble_observer_libhubblepb_la_LIBADD = $(PROTOBUF_C_LIBS)

module_LTLIBRARIES += modules/hubble-observer.la
modules_hubble_observer_la_SOURCES = \
	modules/hubble-observer/hubble.h \
	modules/hubble-observer/hubble_observer.c \
	modules/hubble-observer/hubble_server.c \
	modules/hubble-observer/hubble_flows.c \
	modules/hubble-observer/hubble_pb.c \
	modules/hubble-observer/hubble_req.c \
	modules/hubble-observer/hubble_rpc.c
modules_hubble_observer_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(HUBBLE_PB) \
	$(NGHTTP2_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS)
modules_hubble_observer_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modules_hubble_observer_la_LDFLAGS = $(BW_MODULE_LINK)
modules_hubble_observer_la_LIBADD = modules/hubble-observer/libhubblepb.la \
	libbw.la $(NGHTTP2_LIBS) $(PROTOBUF_C_LIBS) $(LIBEVENT_OPENSSL_LIBS) \
	$(OPENSSL_LIBS) $(LIBEVENT_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += modules/hubble-observer/README.md docs/hubble-api.md \
	$(HUBBLE_PROTO_SRC)
