/*
 * harness.h — what the tests use to run the real binaries and talk to
 * them over real sockets: the supervisor, the ARI simulator, HTTP.
 */
#ifndef MAI_TEST_HARNESS_H
#define MAI_TEST_HARNESS_H

#include <sys/types.h>

#include <stdbool.h>

#include <check.h>

/* Liveness bound for waits; a slow machine only makes tests slower. */
#define H_WAIT_MS	20000

struct h_env {
	char	dir[128];		/* scratch: rundir, logs, files */
	char	rundir[192];
	char	log[192];		/* the supervisor's stderr */
	char	libexec[256];		/* where the workers are taken from */
	int	http_port;
	int	ari_port;
	pid_t	sup_pid;
	pid_t	sim_pid;
};

struct h_resp {
	int	status;
	char	ctype[128];
	char	connection[64];
	char	body[65536];
	size_t	len;
};

const char *h_build(void);
void	 h_init(struct h_env *);
void	 h_cleanup(struct h_env *);
int	 h_free_port(void);
int	 h_listen(int, int *);
int	 h_connect(int);
pid_t	 h_sim_start(struct h_env *);
pid_t	 h_sim_start_as(struct h_env *, const char *, const char *);
void	 h_sim_stop(struct h_env *);
int	 h_sim_ctl(struct h_env *, const char *);
int	 h_sim_post(struct h_env *, const char *, const void *, size_t);
void	 h_sim_call(struct h_env *, const char *, char *, size_t);
void	 h_write_file(const char *, const char *);
void	 h_flows_start(struct h_env *, const char *, const char *,
	    const char *);
long	 h_sim_stat(struct h_env *, const char *);
void	 h_sim_assert_gone(struct h_env *, long);
pid_t	 h_sup_start(struct h_env *, const char *const *);
int	 h_sup_run(struct h_env *, const char *const *, const char *const *,
	    char *, size_t);
int	 h_sup_stop(struct h_env *);
int	 h_http(int, const char *, const char *, struct h_resp *);
int	 h_http_auth(int, const char *, const char *, const char *,
	    struct h_resp *);
pid_t	 h_worker_pid(struct h_env *, const char *);
bool	 h_wait_worker(struct h_env *, const char *, pid_t, pid_t *);
bool	 h_wait_ready(struct h_env *, int);
long	 h_metric(struct h_env *, const char *);
bool	 h_wait_metric(struct h_env *, const char *, long, int);
bool	 h_log_has(struct h_env *, const char *);
bool	 h_wait_log(struct h_env *, const char *);
int	 h_log_pos(struct h_env *, const char *, int);
bool	 h_proc_alive(pid_t);
int	 h_proc_status_field(pid_t, const char *);
void	 h_sleep_ms(int);
long	 h_now_ms(void);
int	 h_run_suite(Suite *);
char	*h_slurp_from(const char *, long);

#define H_WAIT_FOR(cond) ({					\
	long __end = h_now_ms() + H_WAIT_MS;			\
	bool __ok;						\
	while (!(__ok = (cond)) && h_now_ms() < __end)		\
		h_sleep_ms(20);					\
	__ok; })

#endif
