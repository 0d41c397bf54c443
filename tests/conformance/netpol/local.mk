# SPDX-License-Identifier: BSD-2-Clause
# tests/conformance/netpol/: the Kubernetes NetworkPolicy conformance cases
# run through the daemon's public interfaces. Add scripts to TESTS and
# dist_check_SCRIPTS with +=.

TESTS += tests/conformance/netpol/run.sh
dist_check_SCRIPTS += tests/conformance/netpol/run.sh tests/conformance/netpol/run.py
# The in-tree copy of ../shared/conformance/netpol (run.sh uses it unless
# BW_CONFORMANCE_DIR names another directory).
EXTRA_DIST += \
	tests/conformance/netpol/cases/001-default-deny-ingress.yaml \
	tests/conformance/netpol/cases/002-default-deny-all.yaml \
	tests/conformance/netpol/cases/003-allow-from-podselector-same-ns.yaml \
	tests/conformance/netpol/cases/004-allow-ingress-for-target.yaml \
	tests/conformance/netpol/cases/005-allow-ingress-from-all-namespaces.yaml \
	tests/conformance/netpol/cases/006-allow-from-other-ns-nsselector.yaml \
	tests/conformance/netpol/cases/007-podselector-matchexpressions.yaml \
	tests/conformance/netpol/cases/009-podselector-or-nsselector.yaml \
	tests/conformance/netpol/cases/010-podselector-and-nsselector.yaml \
	tests/conformance/netpol/cases/012-any-podselectors.yaml \
	tests/conformance/netpol/cases/014-ports.yaml \
	tests/conformance/netpol/cases/015-stacked-policies-overlapping-podselectors.yaml \
	tests/conformance/netpol/cases/016-allow-all.yaml \
	tests/conformance/netpol/cases/017-ingress-one-named-port.yaml \
	tests/conformance/netpol/cases/019-egress-one-named-port.yaml \
	tests/conformance/netpol/cases/020-updated-policy.yaml \
	tests/conformance/netpol/cases/022-ingress-from-updated-pod.yaml \
	tests/conformance/netpol/cases/023-deny-ingress-from-other-namespaces.yaml \
	tests/conformance/netpol/cases/025-deny-egress-podselector.yaml \
	tests/conformance/netpol/cases/027-ingress-egress-together.yaml \
	tests/conformance/netpol/cases/028-deny-egress-client-side.yaml \
	tests/conformance/netpol/cases/030-ingress-any-port-specific-protocol.yaml \
	tests/conformance/netpol/cases/033-stop-enforcing-after-delete.yaml \
	tests/conformance/netpol/cases/038-sctp-not-treated-as-tcp.yaml \
	tests/conformance/netpol/cases/040-udp-only-policy-blocks-tcp.yaml \
	tests/conformance/netpol/cases/043-udp-default-deny-ingress.yaml \
	tests/conformance/netpol/cases/044-udp-ports.yaml \
	tests/conformance/netpol/cases/README.md \
	tests/conformance/netpol/cases/templated/034-egress-cidr-block.yaml \
	tests/conformance/netpol/cases/templated/036-cidr-except-overlap.yaml \
	tests/conformance/netpol/cases/templated/101-ipblock-replicas-ingress.yaml \
	tests/conformance/netpol/cases/templated/102-ipblock-replicas-egress.yaml
