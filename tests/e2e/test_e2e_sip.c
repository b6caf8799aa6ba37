/*
 * test_e2e_sip.c — real SIP calls walk the shipped default flow: sipp
 * (Debian sip-tester) calls Asterisk's PJSIP transport on 127.0.0.1:5060,
 * sends audio and presses keys as RFC 4733 events; the real supervisor and
 * flow-worker drive the call (tests/e2e/sipp/ has the callers).
 *
 * The caller acts on a cue, not on a clock: once the flow-worker logs that
 * the menu's prompt plays, the test has Asterisk send sipp an in-dialog
 * NOTIFY (tests/e2e/conf/pjsip_notify.conf), and sipp presses its key or
 * hangs up then.  Every wait is a liveness bound, never a speed check.
 *
 * Without sipp or its example pcaps (tests/e2e/asterisk.sh installs
 * sip-tester) the suite prints one "not run" line and passes.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "e2e.h"

/* Debian sip-tester's examples: g711a.pcap (PCMA, PT 8, about 7 s) and
 * dtmf_2833_N.pcap (one RFC 4733 key N, PT 101, with its end packets). */
#define SIPP_PCAPS		"/usr/share/sip-tester"
/* sipp's SIP and RTP ports; Asterisk's are 5060 and rtp.conf's 10000-10099.
 * The e2e lock (tests/e2e/run.sh) keeps one run on them at a time. */
#define SIPP_SIP_PORT		"5070"
#define SIPP_RTP_PORT		"6000"
/* sipp gives up on its own after this (a lost BYE), and exits non-zero. */
#define SIPP_TIMEOUT		"120s"
/* Liveness bound (ms) for a call to end after the cue: the longest walk
 * (key 1) is "unavailable", the menu again and its 5 s timeout. */
#define CALL_END_BOUND_MS	60000
/* Bytes of sipp's error log a failure message shows. */
#define ERRLOG_SHOWN		1500
/* tests/e2e/conf/pjsip_notify.conf's NOTIFY: the caller's cue. */
#define CUE			"mai-e2e-cue"

static struct {
	pid_t	pid;
	int	status;			/* waitpid()'s, once reaped */
	char	errlog[256];		/* -trace_err */
	char	msglog[256];		/* -trace_msg: every SIP message */
	char	errs[ERRLOG_SHOWN + 1];	/* errlog's start, for messages */
} sipp;

/* Why this suite cannot run here, or NULL. */
static const char *
sipp_missing(void)
{
	if (system("command -v sipp >/dev/null 2>&1") != 0)
		return "no sipp (Debian package sip-tester)";
	if (access(SIPP_PCAPS "/g711a.pcap", R_OK) != 0 ||
	    access(SIPP_PCAPS "/dtmf_2833_1.pcap", R_OK) != 0)
		return "no sip-tester pcaps in " SIPP_PCAPS;
	return NULL;
}

/* env.dir/NAME -> DIR/FILE. */
static void
scratch_link(const char *name, const char *dir, const char *file)
{
	char	from[300], to[600];

	snprintf(from, sizeof(from), "%s/%s", env.dir, name);
	snprintf(to, sizeof(to), "%s/%s", dir, file);
	ck_assert_msg(symlink(to, from) == 0, "symlink %s: %s", from,
	    strerror(errno));
}

/*
 * A failed check ends the test's process without its teardown: sipp must
 * not outlive it (it would hold port 5070 for the next test).
 */
static void
sipp_exec(const char *sf)
{
	char	out[300];
	int	fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(out, sizeof(out), "%s/sipp.out", env.dir);
	if (chdir(env.dir) == -1 ||
	    (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		_exit(127);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	execlp("sipp", "sipp", "-sf", sf, "-s", E2E_SERVICE_EXTEN,
	    "-m", "1", "-i", "127.0.0.1", "-p", SIPP_SIP_PORT,
	    "-mp", SIPP_RTP_PORT, "-nostdin", "-timeout", SIPP_TIMEOUT,
	    "-timeout_error", "-trace_err", "-error_file", sipp.errlog,
	    "-trace_msg", "-message_file", sipp.msglog, "127.0.0.1:5060",
	    (char *)NULL);
	_exit(127);
}

/*
 * One sipp call with scenario, from env.dir (where its logs go); digit
 * (a key, or NULL) picks the RFC 4733 pcap the scenario plays at the cue.
 * sipp looks for pcaps next to the scenario: all of them are linked there.
 */
static void
sipp_start(const char *scenario, const char *digit)
{
	char	file[64], sipp_dir[300], sf[300];

	snprintf(sipp_dir, sizeof(sipp_dir), "%s/tests/e2e/sipp", e2e_src());
	scratch_link(scenario, sipp_dir, scenario);
	snprintf(sf, sizeof(sf), "%s/%s", env.dir, scenario);
	scratch_link("audio.pcap", SIPP_PCAPS, "g711a.pcap");
	if (digit != NULL) {
		snprintf(file, sizeof(file), "dtmf_2833_%s.pcap", digit);
		scratch_link("digit.pcap", SIPP_PCAPS, file);
	}
	snprintf(sipp.errlog, sizeof(sipp.errlog), "%s/sipp-errors.log",
	    env.dir);
	snprintf(sipp.msglog, sizeof(sipp.msglog), "%s/sipp-messages.log",
	    env.dir);
	sipp.status = -1;
	ck_assert_int_ne((sipp.pid = fork()), -1);
	if (sipp.pid == 0)
		sipp_exec(sf);
}

/* Has sipp exited (reaped, status kept)? */
static bool
sipp_exited(void)
{
	if (sipp.pid <= 0)
		return true;
	if (waitpid(sipp.pid, &sipp.status, WNOHANG) != sipp.pid)
		return false;
	sipp.pid = 0;
	return true;
}

/* The start of sipp's error log, for a failure message. */
static const char *
sipp_errors(void)
{
	char	*all = h_slurp_from(sipp.errlog, 0);

	snprintf(sipp.errs, sizeof(sipp.errs), "%s", all);
	free(all);
	return sipp.errs[0] != '\0' ? sipp.errs : "(empty)";
}

/* sipp ended its one call as the scenario says: exit 0. */
static void
sipp_wait_success(void)
{
	ck_assert_msg(WAIT_UPTO(CALL_END_BOUND_MS, sipp_exited()),
	    "sipp still running %d s after the cue (its logs are in %s)",
	    CALL_END_BOUND_MS / 1000, env.dir);
	ck_assert_msg(WIFEXITED(sipp.status) && WEXITSTATUS(sipp.status) == 0,
	    "sipp failed: status 0x%x; errors: %s (its logs are in %s)",
	    sipp.status, sipp_errors(), env.dir);
}

/* Our channel's name, from 'core show channels concise' ("NAME!ctx!..."). */
static void
sip_channel(char *name, size_t size)
{
	char	out[2048], *bang;

	ck_assert_int_eq(ast(out, sizeof(out),
	    "cli 'core show channels concise'"), 0);
	ck_assert_msg(strncmp(out, "PJSIP/local-", 12) == 0 &&
	    (bang = strchr(out, '!')) != NULL, "no PJSIP call: %s", out);
	ck_assert_uint_lt((size_t)(bang - out), size);
	memcpy(name, out, (size_t)(bang - out));
	name[bang - out] = '\0';
}

/*
 * RTP packets Asterisk received on chan ("PJSIP/local-N"), or -1: the
 * Receive Count after the channel's id, uptime and codec in 'pjsip show
 * channelstats'.
 */
static long
rtp_received(const char *chan)
{
	char		 out[2048];
	const char	*p;
	long		 n;

	if (ast(out, sizeof(out), "cli 'pjsip show channelstats'") != 0 ||
	    (p = strstr(out, chan + strlen("PJSIP/"))) == NULL ||
	    sscanf(p, "%*s %*s %*s %ld", &n) != 1)
		return -1;
	return n;
}

/*
 * Once Asterisk counts RTP from sipp (a caller with live media, as a phone
 * would be) and the menu's prompt plays (the flow-worker's log after
 * from), Asterisk sends sipp its cue.  The menu takes keys during its
 * prompt and 5 s after it: only the NOTIFY (one asterisk -rx) is left to
 * do once the prompt plays.
 */
static void
cue_in_menu(long from)
{
	const char	*menu = "flow=main state=menu event=done";
	char		 chan[128], out[1024];
	long		 at;

	sip_channel(chan, sizeof(chan));
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, rtp_received(chan) > 0),
	    "Asterisk received no RTP on %s: %ld", chan, rtp_received(chan));
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, (at = log_offset(from, menu)) >= 0),
	    "flow-worker never logged \"%s\" (log %s; sipp errors: %s)",
	    menu, env.log, sipp_errors());
	/* Playing now, or already played (a slow poll). */
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, playback_live(at) ||
	    log_count(at, "type=PlaybackFinished") > 0), "Asterisk plays no "
	    "prompt of the menu: %d %s", r->status, r->body);
	ck_assert_int_eq(ast(out, sizeof(out),
	    "cli 'pjsip send notify " CUE " channel %s'", chan), 0);
	ck_assert_msg(strstr(out, "Sending NOTIFY of type '" CUE "'") != NULL,
	    "notify not sent: %s", out);
}

static void
sip_setup(void)
{
	memset(&sipp, 0, sizeof(sipp));
	e2e_setup();
}

/*
 * A sipp still running when a test ends is killed before Asterisk stops.
 * (A failed check exits without teardown: PR_SET_PDEATHSIG covers that.)
 */
static void
sip_teardown(void)
{
	if (sipp.pid > 0) {
		kill(sipp.pid, SIGKILL);
		waitpid(sipp.pid, NULL, 0);
		sipp.pid = 0;
	}
	e2e_teardown();
}

/* The call started from sipp, for the service number. */
static void
call_started(long from)
{
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "call started id=") == 1));
	ck_assert_int_eq(log_count(from, "exten=" E2E_SERVICE_EXTEN
	    " caller=sipp flow=main state=greeting"), 1);
}

/*
 * Key 2 in the menu: goodbye.  Asterisk reports the RFC 4733 key once
 * (one ChannelDtmfReceived, though the end packet comes three times), the
 * flow plays goodbye and hangs up: sipp gets the BYE and exits 0.
 */
START_TEST(sipp_key_2_says_goodbye)
{
	const char *const walk[] = {
	    "call started id=",
	    "flow=main state=greeting event=start",
	    "flow=main state=menu event=done",
	    "type=ChannelDtmfReceived",
	    "flow=main state=goodbye event=digits:2",
	    "call ended id=", NULL };
	long	from;

	e2e_start_ready(NULL, NULL);
	from = log_size();
	sipp_start("caller-dtmf.xml", "2");
	call_started(from);
	cue_in_menu(from);
	sipp_wait_success();
	e2e_call_over(from, H_WAIT_MS, walk);
	ck_assert_int_eq(log_count(from, "type=ChannelDtmfReceived"), 1);
	ck_assert_int_eq(log_count(from, "state=unavailable"), 0);
	ck_assert_int_eq(log_count(from, "state=hangup"), 0);
}
END_TEST

/*
 * Key 1 without BOT_MEDIA_HOST: "unavailable", the menu again; no key
 * then, so no_input hangs up.  The call ends by itself (BYE to sipp).
 */
START_TEST(sipp_key_1_without_bot_returns_to_menu)
{
	const char *const walk[] = {
	    "flow=main state=menu event=done",
	    "type=ChannelDtmfReceived",
	    "flow=main state=unavailable event=digits:1",
	    "flow=main state=menu event=done",
	    "flow=main state=hangup event=no_input",
	    "call ended id=", NULL };
	long	from;

	e2e_start_ready(NULL, NULL);
	from = log_size();
	sipp_start("caller-dtmf.xml", "1");
	call_started(from);
	cue_in_menu(from);
	sipp_wait_success();
	e2e_call_over(from, H_WAIT_MS, walk);
	ck_assert_int_eq(log_count(from, "type=ChannelDtmfReceived"), 1);
	ck_assert_int_eq(log_count(from, "state=bot"), 0);
	ck_assert_int_eq(log_count(from, "state=goodbye"), 0);
}
END_TEST

/* The caller hangs up (BYE) while the menu plays: nothing stays. */
START_TEST(sipp_hangup_in_menu_leaves_nothing)
{
	const char *const walk[] = {
	    "flow=main state=menu event=done",
	    "type=ChannelHangupRequest",
	    "call ended id=", NULL };
	long	from;

	e2e_start_ready(NULL, NULL);
	from = log_size();
	sipp_start("caller-hangup.xml", NULL);
	call_started(from);
	cue_in_menu(from);
	sipp_wait_success();
	e2e_call_over(from, H_WAIT_MS, walk);
	/* It ended in the menu, not through any of the flow's ends. */
	ck_assert_int_eq(log_count(from, "type=ChannelDtmfReceived"), 0);
	ck_assert_int_eq(log_count(from, "state=hangup"), 0);
	ck_assert_int_eq(log_count(from, "state=goodbye"), 0);
	ck_assert_int_eq(log_count(from, "flow=main state=menu why="), 1);
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("e2e-sip");
	TCase		*tc = tcase_create("asterisk22-sipp");
	const char	*missing;

	if ((missing = sipp_missing()) != NULL) {
		printf("e2e-sip: not run: %s\n", missing);
		return 0;
	}
	/* One tcase, in order: they share Asterisk's and sipp's ports. */
	tcase_add_checked_fixture(tc, sip_setup, sip_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, sipp_key_2_says_goodbye);
	tcase_add_test(tc, sipp_key_1_without_bot_returns_to_menu);
	tcase_add_test(tc, sipp_hangup_in_menu_leaves_nothing);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
