/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/cli.h - the verbs of the bulwark command.
 *
 * Each verb family lives in cli/cmd_<verb>.c and exports one function,
 * declared here, that gets the arguments from the verb on (argv[0] is the
 * verb). It returns the process exit status: 0 success, 1 failure (the
 * message printed already), 2 usage error. Every verb answers --help.
 * To add a verb: declare it here and add one line to the table in
 * cli/main.c.
 */
#ifndef BW_CLI_H
#define BW_CLI_H

struct cli_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary; /* one line for bulwark --help */
};

int cmd_status(int argc, char **argv);
int cmd_modules(int argc, char **argv);
int cmd_observe(int argc, char **argv);
int cmd_endpoint(int argc, char **argv);
int cmd_namespace(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_fqdn(int argc, char **argv);
int cmd_lua(int argc, char **argv);
int cmd_quarantine(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_exposure(int argc, char **argv);
int cmd_compliance(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_broad_rules(int argc, char **argv);

/* The program name used in messages. */
#define CLI_PROG "bulwark"

#endif /* BW_CLI_H */
