/*
 * config.c — configuration from the environment (and MAI_CONFIG_FILE).
 *
 * Every error names the variable, says what is wrong and how to fix it, so
 * an operator reading `docker compose logs` needs nothing else.  The ARI
 * password is copied once and wiped from the process's environment block,
 * so it is not readable in /proc/PID/environ and never inherited.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "urlenc.h"
#include "supervisor.h"

/*
 * A configuration line is at most CONF_LINE_MAX - 1 bytes with its
 * newline; a longer one is an error, never cut: the tail of a cut comment
 * would be read as a setting of its own.  The whole file is at most
 * CONF_FILE_MAX bytes (mai has 25 settings).
 */
#define CONF_LINE_MAX	1024
#define CONF_FILE_MAX	(64 * 1024)
#define HOST_LABEL_MAX	63		/* RFC 1035 */
#define HOST_NAME_MAX_	253

struct conf_var {
	const char	*name;
	char		*env;		/* captured at start */
	char		*file;		/* from MAI_CONFIG_FILE, wins */
};

static struct conf_var conf_vars[] = {
	{ .name = "ARI_HOST" }, { .name = "ARI_PORT" }, { .name = "ARI_USER" }, { .name = "ARI_PASSWORD" },
	{ .name = "ARI_PASSWORD_FILE" }, { .name = "ARI_APP" }, { .name = "ARI_TLS" },
	{ .name = "ARI_EVENT_FILTER" },
	{ .name = "HTTP_LISTEN" }, { .name = "MAI_USER" }, { .name = "MAI_RUNDIR" },
	{ .name = "MAI_LIBEXEC_DIR" }, { .name = "LOG_LEVEL" }, { .name = "LOG_FORMAT" },
	{ .name = "MAI_EVENT_QUEUE_MAX" }, { .name = "MAI_EVENT_QUEUE_BYTES" },
	{ .name = "ARI_PING_INTERVAL_MS" }, { .name = "ARI_PING_TIMEOUT_MS" },
	{ .name = "ARI_PROBE_INTERVAL_MS" }, { .name = "ARI_PROBE_TIMEOUT_MS" },
	{ .name = "MAI_STOP_GRACE_MS" }, { .name = "MAI_CONFIG_FILE" },
	{ .name = "FLOWS_FILE" }, { .name = "BOT_MEDIA_HOST" },
	{ .name = "BOT_MEDIA_FORMAT" }, { .name = "BOT_MEDIA_TRANSPORT" },
	{ .name = "BOT_CONTROL_URL" },
	{ .name = "MAI_HEARTBEAT_INTERVAL_MS" },
	{ .name = "MAI_HEARTBEAT_TIMEOUT_MS" }, { .name = "MAI_PROGRESS_MAX_MS" },
	{ .name = "MAI_ADOPT_AFTER_MS" },
	{ .name = "HTTP_HEADER_TIMEOUT_MS" }, { .name = "HTTP_MAX_CONNECTIONS" },
};
#define NVARS	(sizeof(conf_vars) / sizeof(conf_vars[0]))

static struct conf_var *
conf_var_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NVARS; i++)
		if (strcmp(conf_vars[i].name, name) == 0)
			return &conf_vars[i];
	return NULL;
}

/* Overwrite the value in the environment block itself, then drop it. */
static void
config_scrub_env(const char *name)
{
	extern char	**environ;
	size_t		  len = strlen(name);
	char		**e;

	for (e = environ; *e != NULL; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			explicit_bzero(*e + len + 1, strlen(*e + len + 1));
	unsetenv(name);
}

void
config_capture_env(void)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < NVARS; i++)
		if ((v = getenv(conf_vars[i].name)) != NULL &&
		    (conf_vars[i].env = strdup(v)) == NULL)
			fatal("strdup");
	config_scrub_env("ARI_PASSWORD");
}

static const char *
conf_get(const char *name)
{
	struct conf_var	*v = conf_var_find(name);

	if (v == NULL)
		fatalx("config: unknown variable %s", name);
	return v->file != NULL ? v->file : v->env;
}

static int
conf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Strict unsigned parse: the whole string, in range, or an error. */
static int
conf_uint(const char *name, const char *def, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errlen)
{
	const char		*s = conf_get(name);
	char			*end;
	unsigned long long	 v;

	if (s == NULL || *s == '\0')
		s = def;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		return conf_err(err, errlen, "%s=%s is not valid: use a whole "
		    "number from %llu to %llu (default %s)", name, s,
		    (unsigned long long)min, (unsigned long long)max, def);
	*out = v;
	return 0;
}

static int
conf_str(const char *name, const char *def, char *dst, size_t size,
    char *err, size_t errlen)
{
	const char	*s = conf_get(name);

	if (s == NULL || *s == '\0')
		s = def;
	if (s == NULL)
		return conf_err(err, errlen, "%s is not set: set it in the "
		    "environment or MAI_CONFIG_FILE", name);
	if (strlen(s) >= size)
		return conf_err(err, errlen, "%s is too long: at most %zu "
		    "bytes", name, size - 1);
	strcpy(dst, s);
	return 0;
}

static void
conf_file_clear(void)
{
	size_t	i;

	for (i = 0; i < NVARS; i++) {
		if (conf_vars[i].file != NULL) {
			explicit_bzero(conf_vars[i].file,
			    strlen(conf_vars[i].file));
			free(conf_vars[i].file);
			conf_vars[i].file = NULL;
		}
	}
}

static int
conf_file_line(const char *path, int lineno, char *line, char *err,
    size_t errlen)
{
	struct conf_var	*v;
	char		*eq, *val;
	size_t		 n;

	line[strcspn(line, "\r")] = '\0';
	while (isspace((unsigned char)*line))
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if ((eq = strchr(line, '=')) == NULL)
		return conf_err(err, errlen, "MAI_CONFIG_FILE %s line %d: "
		    "expected KEY=VALUE", path, lineno);
	*eq = '\0';
	val = eq + 1;
	n = strlen(val);
	if (n >= 2 && (val[0] == '"' || val[0] == '\'') && val[n - 1] == val[0]) {
		val[n - 1] = '\0';
		val++;
	}
	if ((v = conf_var_find(line)) == NULL ||
	    strcmp(line, "MAI_CONFIG_FILE") == 0)
		return conf_err(err, errlen, "MAI_CONFIG_FILE %s line %d: "
		    "unknown variable %s", path, lineno, line);
	free(v->file);
	if ((v->file = strdup(val)) == NULL)
		fatal("strdup");
	return 0;
}

/*
 * The file's bytes, line by line.  Pure apart from the settings it
 * stores (a fuzz harness may call it on any bytes): a line over the bound
 * or a NUL byte is an error naming the file and the line.
 */
int
conf_file_parse(const char *path, const char *buf, size_t len, char *err,
    size_t errlen)
{
	char		 line[CONF_LINE_MAX];
	const char	*p = buf, *end = buf + len, *nl;
	size_t		 n;
	int		 lineno = 0, rc = 0;

	while (rc == 0 && p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line))
			return conf_err(err, errlen, "MAI_CONFIG_FILE %s line "
			    "%d is longer than %d bytes: shorten it (a long "
			    "line is refused, not cut)", path, lineno,
			    CONF_LINE_MAX - 1);
		if (memchr(p, '\0', n) != NULL)
			return conf_err(err, errlen, "MAI_CONFIG_FILE %s line "
			    "%d holds a NUL byte: save the file as text", path,
			    lineno);
		memcpy(line, p, n);
		line[n] = '\0';
		rc = conf_file_line(path, lineno, line, err, errlen);
		p += n + 1;
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

/* The file is re-read on every load, so HUP picks up edits. */
static int
conf_file_read(const char *path, char *err, size_t errlen)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;
	int	 rc;

	conf_file_clear();
	if (path == NULL || *path == '\0')
		return 0;
	if ((fp = fopen(path, "r")) == NULL)
		return conf_err(err, errlen, "MAI_CONFIG_FILE=%s cannot be "
		    "read: %s", path, strerror(errno));
	if ((buf = malloc(CONF_FILE_MAX + 1)) == NULL)
		fatal("malloc");
	n = fread(buf, 1, CONF_FILE_MAX + 1, fp);
	fclose(fp);
	if (n > CONF_FILE_MAX)
		rc = conf_err(err, errlen, "MAI_CONFIG_FILE=%s is over %d "
		    "bytes: it holds KEY=VALUE lines only", path,
		    CONF_FILE_MAX);
	else
		rc = conf_file_parse(path, buf, n, err, errlen);
	explicit_bzero(buf, n < CONF_FILE_MAX ? n : CONF_FILE_MAX);
	free(buf);
	return rc;
}

/*
 * The password is the file's first line.  A longer one than fits is an
 * error, never cut: a cut password fails at Asterisk with a 401 that
 * says nothing about why.
 */
static int
conf_password_file(struct sup_config *c, char *err, size_t errlen)
{
	char	buf[sizeof(c->ari_password) + 1];
	FILE	*fp;
	size_t	 n, len;
	int	 rc = 0;

	if ((fp = fopen(c->ari_password_file, "r")) == NULL)
		return conf_err(err, errlen, "ARI_PASSWORD_FILE=%s cannot be "
		    "read: %s", c->ari_password_file, strerror(errno));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	/* One trailing newline is how editors and `echo` end the file. */
	for (len = 0; len < n && buf[len] != '\n' && buf[len] != '\r' &&
	    buf[len] != '\0'; len++)
		;
	if (len >= sizeof(c->ari_password))
		rc = conf_err(err, errlen, "ARI_PASSWORD_FILE=%s holds a "
		    "password over %zu bytes: use a shorter one (it is "
		    "refused, not cut)", c->ari_password_file,
		    sizeof(c->ari_password) - 1);
	else if (len == 0)
		rc = conf_err(err, errlen, "ARI_PASSWORD_FILE=%s is empty: "
		    "put the password of ARI_USER on its first line",
		    c->ari_password_file);
	else {
		memcpy(c->ari_password, buf, len);
		c->ari_password[len] = '\0';
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int
conf_password(struct sup_config *c, char *err, size_t errlen)
{
	const char	*pw = conf_get("ARI_PASSWORD");

	c->ari_password_file[0] = '\0';
	if (conf_str("ARI_PASSWORD_FILE", "", c->ari_password_file,
	    sizeof(c->ari_password_file), err, errlen) == -1)
		return -1;
	if (pw != NULL && *pw != '\0' && c->ari_password_file[0] != '\0')
		return conf_err(err, errlen, "ARI_PASSWORD and ARI_PASSWORD_FILE"
		    " are both set: keep only one");
	if (c->ari_password_file[0] == '\0') {
		if (pw == NULL || *pw == '\0')
			return conf_err(err, errlen, "ARI_PASSWORD is not set: "
			    "set ARI_PASSWORD or ARI_PASSWORD_FILE to the "
			    "password of ARI_USER in ari.conf");
		if (strlen(pw) >= sizeof(c->ari_password))
			return conf_err(err, errlen, "ARI_PASSWORD is too long:"
			    " at most %zu bytes", sizeof(c->ari_password) - 1);
		strcpy(c->ari_password, pw);
		return 0;
	}
	return conf_password_file(c, err, errlen);
}

static int
conf_user(struct sup_config *c, char *err, size_t errlen)
{
	struct passwd	*pw;

	if (conf_str("MAI_USER", "", c->mai_user, sizeof(c->mai_user),
	    err, errlen) == -1)
		return -1;
	c->drop_user = false;
	if (c->mai_user[0] == '\0') {
		if (geteuid() == 0)
			return conf_err(err, errlen, "MAI_USER is not set: as "
			    "root the workers need an unprivileged user; set "
			    "MAI_USER=mai (create it: useradd --system mai)");
		return 0;
	}
	if ((pw = getpwnam(c->mai_user)) == NULL)
		return conf_err(err, errlen, "MAI_USER=%s: no such user; "
		    "create it (useradd --system %s) or name another",
		    c->mai_user, c->mai_user);
	if (pw->pw_uid == 0)
		return conf_err(err, errlen, "MAI_USER=%s is root: name an "
		    "unprivileged user", c->mai_user);
	if (geteuid() != 0 && pw->pw_uid != geteuid())
		return conf_err(err, errlen, "MAI_USER=%s needs root to switch"
		    " to: start as root or unset MAI_USER", c->mai_user);
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	c->drop_user = geteuid() == 0;
	return 0;
}

static int
conf_names(struct sup_config *c, char *err, size_t errlen)
{
	const char	*p;
	char		 lvl[16], fmt[16];

	if (strchr(c->ari_user, ':') != NULL)
		return conf_err(err, errlen, "ARI_USER=%s contains ':': ARI "
		    "splits user and password at the first ':', rename the "
		    "user in ari.conf", c->ari_user);
	for (p = c->ari_app; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return conf_err(err, errlen, "ARI_APP=%s is not valid: "
			    "use letters, digits, '.', '_' and '-'", c->ari_app);
	if (c->ari_app[0] == '\0')
		return conf_err(err, errlen, "ARI_APP is empty: set a Stasis "
		    "application name such as mai");
	if (conf_str("LOG_LEVEL", "info", lvl, sizeof(lvl), err, errlen) ||
	    conf_str("LOG_FORMAT", "text", fmt, sizeof(fmt), err, errlen))
		return -1;
	if ((c->log_level = log_level_parse(lvl)) < 0)
		return conf_err(err, errlen, "LOG_LEVEL=%s is not valid: use "
		    "error, warn, info or debug", lvl);
	if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0)
		return conf_err(err, errlen, "LOG_FORMAT=%s is not valid: use "
		    "text or json", fmt);
	c->log_json = strcmp(fmt, "json") == 0;
	return 0;
}

static int
conf_numbers(struct sup_config *c, char *err, size_t errlen)
{
	uint64_t	v[12];

	if (conf_uint("ARI_PORT", "8088", 1, 65535, &v[0], err, errlen) ||
	    conf_uint("ARI_TLS", "0", 0, 1, &v[1], err, errlen) ||
	    conf_uint("MAI_EVENT_QUEUE_MAX", "10000", 1, 10000000, &v[2],
	    err, errlen) ||
	    conf_uint("MAI_EVENT_QUEUE_BYTES", "16777216", MAI_FRAME_MAX,
	    1ULL << 30, &v[3], err, errlen) ||
	    conf_uint("ARI_PING_INTERVAL_MS", "20000", 100, 3600000, &v[4],
	    err, errlen) ||
	    conf_uint("ARI_PING_TIMEOUT_MS", "10000", 100, 3600000, &v[5],
	    err, errlen) ||
	    conf_uint("ARI_PROBE_INTERVAL_MS", "5000", 100, 3600000, &v[6],
	    err, errlen) ||
	    conf_uint("ARI_PROBE_TIMEOUT_MS", "2000", 100, 3600000, &v[7],
	    err, errlen) ||
	    conf_uint("MAI_STOP_GRACE_MS", "5000", 0, 600000, &v[8],
	    err, errlen) ||
	    conf_uint("HTTP_HEADER_TIMEOUT_MS", "5000", 100, 600000, &v[9],
	    err, errlen) ||
	    conf_uint("HTTP_MAX_CONNECTIONS", "256", 1, 10000, &v[10],
	    err, errlen) ||
	    conf_uint("ARI_EVENT_FILTER", "1", 0, 1, &v[11], err, errlen))
		return -1;
	if (v[7] > v[6])
		return conf_err(err, errlen, "ARI_PROBE_TIMEOUT_MS=%llu is "
		    "longer than ARI_PROBE_INTERVAL_MS=%llu: lower the timeout",
		    (unsigned long long)v[7], (unsigned long long)v[6]);
	c->ari_port = (uint16_t)v[0];
	c->ari_tls = v[1] != 0;
	c->queue_max_events = (uint32_t)v[2];
	c->queue_max_bytes = v[3];
	c->ping_interval_ms = (uint32_t)v[4];
	c->ping_timeout_ms = (uint32_t)v[5];
	c->probe_interval_ms = (uint32_t)v[6];
	c->probe_timeout_ms = (uint32_t)v[7];
	c->stop_grace_ms = (uint32_t)v[8];
	c->http_header_timeout_ms = (uint32_t)v[9];
	c->http_max_conns = (uint32_t)v[10];
	c->ari_event_filter = v[11] != 0;
	return 0;
}

/*
 * Heartbeats (heartbeat.c, docs/operations.md).  The deadline must span
 * at least two intervals, so that one late answer (a busy loop pass, a
 * loaded machine) is counted but never kills; 0 turns heartbeats off
 * (e.g. to hold a worker in a debugger).
 */
static int
conf_heartbeat(struct sup_config *c, char *err, size_t errlen)
{
	uint64_t	v[3];

	if (conf_uint("MAI_HEARTBEAT_INTERVAL_MS", "500", 0, 60000, &v[0],
	    err, errlen) ||
	    conf_uint("MAI_HEARTBEAT_TIMEOUT_MS", "1500", 100, 600000, &v[1],
	    err, errlen) ||
	    conf_uint("MAI_PROGRESS_MAX_MS", "10000", 0, 86400000, &v[2],
	    err, errlen))
		return -1;
	if (v[0] > 0 && v[0] < 50)
		return conf_err(err, errlen, "MAI_HEARTBEAT_INTERVAL_MS=%llu is "
		    "too short: use 0 (off) or 50 to 60000", (unsigned long long)v[0]);
	if (v[0] > 0 && v[1] < 2 * v[0])
		return conf_err(err, errlen, "MAI_HEARTBEAT_TIMEOUT_MS=%llu is "
		    "shorter than two MAI_HEARTBEAT_INTERVAL_MS=%llu: use at "
		    "least %llu", (unsigned long long)v[1],
		    (unsigned long long)v[0], (unsigned long long)(2 * v[0]));
	if (v[2] > 0 && v[2] < 500)
		return conf_err(err, errlen, "MAI_PROGRESS_MAX_MS=%llu is too "
		    "short: use 0 (off) or 500 to 86400000",
		    (unsigned long long)v[2]);
	c->heartbeat_interval_ms = (uint32_t)v[0];
	c->heartbeat_timeout_ms = (uint32_t)v[1];
	c->progress_max_ms = (uint32_t)v[2];
	return 0;
}

/* Workers live next to the supervisor unless told otherwise. */
static int
conf_dirs(struct sup_config *c, char *err, size_t errlen)
{
	char	self[PATH_MAX], def[PATH_MAX];
	ssize_t	n;

	if (geteuid() == 0)
		snprintf(def, sizeof(def), "/run/mai");
	else
		snprintf(def, sizeof(def), "/tmp/mai-%u", (unsigned)geteuid());
	if (conf_str("MAI_RUNDIR", def, c->rundir, sizeof(c->rundir) - 32,
	    err, errlen) == -1)
		return -1;
	if (c->rundir[0] != '/')
		return conf_err(err, errlen, "MAI_RUNDIR=%s is not an absolute "
		    "path: use e.g. /run/mai", c->rundir);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return conf_err(err, errlen, "MAI_LIBEXEC_DIR: cannot find own "
		    "path (%s): set MAI_LIBEXEC_DIR", strerror(errno));
	self[n] = '\0';
	if (conf_str("MAI_LIBEXEC_DIR", dirname(self), c->libexec_dir,
	    sizeof(c->libexec_dir) - 32, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * The supervisor reads the flow file and hands its bytes to the
 * flow-worker, which then needs no access to the file system at all (and
 * could not read a file below a directory its user may not enter).
 */
static int
conf_flows_read(struct sup_config *c, char *err, size_t errlen)
{
	FILE	*fp;
	size_t	 n;

	if ((fp = fopen(c->flows_file, "r")) == NULL)
		return conf_err(err, errlen, "FLOWS_FILE=%s cannot be read: %s "
		    "(point it at a flow file, see docs/flows.md)",
		    c->flows_file, strerror(errno));
	if ((c->flows_buf = malloc(MAI_FRAME_PAYLOAD_MAX + 1)) == NULL)
		fatal("malloc");
	n = fread(c->flows_buf, 1, MAI_FRAME_PAYLOAD_MAX + 1, fp);
	fclose(fp);
	if (n > MAI_FRAME_PAYLOAD_MAX)
		return conf_err(err, errlen, "FLOWS_FILE=%s is over %zu bytes: "
		    "split long prompts into sound files", c->flows_file,
		    (size_t)MAI_FRAME_PAYLOAD_MAX);
	c->flows_len = n;
	return 0;
}

void
config_free(struct sup_config *c)
{
	free(c->flows_buf);
	explicit_bzero(c, sizeof(*c));
}

/*
 * "ADDR:PORT" or "[ADDR6]:PORT" with a numeric address: chan_rtp parses
 * externalMedia's external_host with ast_sockaddr_parse(), which never
 * resolves a name, so a host name would only fail each bot call.
 */
static bool
conf_numeric_hostport(const char *hp)
{
	char		 host[INET6_ADDRSTRLEN + 2];
	unsigned char	 addr[sizeof(struct in6_addr)];
	const char	*colon = strrchr(hp, ':');
	size_t		 n;

	if (colon == NULL || (n = (size_t)(colon - hp)) == 0 ||
	    n >= sizeof(host))
		return false;
	memcpy(host, hp, n);
	host[n] = '\0';
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, addr) == 1;
	}
	return inet_pton(AF_INET, host, addr) == 1;
}

/*
 * Call flows and the bot media address.  The flow file itself is JSON and
 * is read and validated by the flow-worker; here it must only exist.  The
 * shipped default sits next to the worker binaries.
 */
static int
conf_flows(struct sup_config *c, char *err, size_t errlen)
{
	char	def[PATH_MAX + 16];

	snprintf(def, sizeof(def), "%.*s/flows.json", PATH_MAX - 16,
	    c->libexec_dir);
	if (conf_str("FLOWS_FILE", def, c->flows_file, sizeof(c->flows_file),
	    err, errlen) || conf_str("BOT_MEDIA_HOST", "", c->bot_media,
	    sizeof(c->bot_media), err, errlen) || conf_str("BOT_MEDIA_FORMAT",
	    "ulaw", c->bot_format, sizeof(c->bot_format), err, errlen) ||
	    conf_str("BOT_MEDIA_TRANSPORT", "udp", c->bot_transport,
	    sizeof(c->bot_transport), err, errlen) ||
	    conf_str("BOT_CONTROL_URL", "", c->bot_control,
	    sizeof(c->bot_control), err, errlen))
		return -1;
	if (conf_flows_read(c, err, errlen) == -1)
		return -1;
	if (strcmp(c->bot_transport, "udp") != 0 &&
	    strcmp(c->bot_transport, "websocket") != 0)
		return conf_err(err, errlen, "BOT_MEDIA_TRANSPORT=%s is not "
		    "valid: use udp (RTP) or websocket", c->bot_transport);
	/*
	 * Asterisk 22 drops slin16 RTP coming back into an externalMedia
	 * channel (payload type 118 is in no receive map; only types up to
	 * 34 fall back to the static table): the caller would hear nothing.
	 */
	if (c->bot_media[0] != '\0' && strcmp(c->bot_transport, "udp") == 0 &&
	    strcmp(c->bot_format, "ulaw") != 0 &&
	    strcmp(c->bot_format, "alaw") != 0)
		return conf_err(err, errlen, "BOT_MEDIA_FORMAT=%s is not valid "
		    "with BOT_MEDIA_TRANSPORT=udp: Asterisk plays no %s RTP back "
		    "from the bot; use ulaw, or BOT_MEDIA_TRANSPORT=websocket for "
		    "16 kHz", c->bot_format, c->bot_format);
	/* chan_websocket: the name of a websocket_client.conf connection. */
	if (c->bot_media[0] != '\0' &&
	    strcmp(c->bot_transport, "websocket") == 0 &&
	    strspn(c->bot_media, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789_.-") != strlen(c->bot_media))
		return conf_err(err, errlen, "BOT_MEDIA_HOST=%s is not valid: "
		    "with BOT_MEDIA_TRANSPORT=websocket it names a connection "
		    "in Asterisk's websocket_client.conf (e.g. mai-bot)",
		    c->bot_media);
	if (c->bot_media[0] != '\0' && strcmp(c->bot_transport, "udp") == 0 &&
	    listen_check(c->bot_media, err, errlen) == -1)
		return conf_err(err, errlen, "BOT_MEDIA_HOST=%s is not valid: "
		    "use HOST:PORT of the bot's media endpoint", c->bot_media);
	if (c->bot_media[0] != '\0' && strcmp(c->bot_transport, "udp") == 0 &&
	    !conf_numeric_hostport(c->bot_media))
		return conf_err(err, errlen, "BOT_MEDIA_HOST=%s is not valid: "
		    "Asterisk's RTP channel takes a numeric address only (no "
		    "DNS): give the bot's IP, e.g. 172.29.58.10:18092",
		    c->bot_media);
	if (c->bot_control[0] != '\0' && !ari_url_ok(c->bot_control))
		return conf_err(err, errlen, "BOT_CONTROL_URL=%s is not valid: "
		    "use http://HOST:PORT of the bot's control API (mai-bot: "
		    "port 18090), or leave it empty", c->bot_control);
	return 0;
}

/*
 * ARI_HOST goes into URLs and to the resolver: a host name (RFC 1123
 * labels; '_' allowed, as Docker names have it), an IPv4 address, or an
 * IPv6 address, bare or in brackets (stored bare: the URL code adds them).
 * Pure: a string in, 0 or -1 (a fuzz harness may call it).
 */
int
conf_host_check(char *host)
{
	struct in6_addr	 a6;
	size_t		 n = strlen(host), label = 0;
	const char	*p;

	char		 inner[INET6_ADDRSTRLEN + 8];

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(inner))
			return -1;
		memcpy(inner, host + 1, n - 2);
		inner[n - 2] = '\0';
		if (inet_pton(AF_INET6, inner, &a6) != 1)
			return -1;
		memcpy(host, inner, n - 1);
		return 0;
	}
	if (strchr(host, ':') != NULL)
		return inet_pton(AF_INET6, host, &a6) == 1 ? 0 : -1;
	if (n == 0 || n > HOST_NAME_MAX_)
		return -1;
	for (p = host; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return -1;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '_' ||
		    (*p == '-' && label > 0)) {
			if (++label > HOST_LABEL_MAX)
				return -1;
		} else
			return -1;
	}
	return p[-1] == '-' ? -1 : 0;
}

/*
 * Adopting the calls of a lost instance (flow-worker/lease.c, adopt.c,
 * docs/scaling.md): a peer whose lease has not moved for this long is
 * gone.  It must span several lease intervals, so that one late renewal
 * (a loaded machine, a flow-worker restart) never reads as a death.
 */
static int
conf_adopt(struct sup_config *c, char *err, size_t errlen)
{
	uint64_t	v;

	if (conf_uint("MAI_ADOPT_AFTER_MS", "3000", 0, 600000, &v, err,
	    errlen))
		return -1;
	if (v > 0 && v < MAI_ADOPT_AFTER_MIN_MS)
		return conf_err(err, errlen, "MAI_ADOPT_AFTER_MS=%llu is too "
		    "short: use 0 (adopt nothing) or %d to 600000 (at least "
		    "four lease renewals)", (unsigned long long)v,
		    MAI_ADOPT_AFTER_MIN_MS);
	c->adopt_after_ms = (uint32_t)v;
	return 0;
}

/* Fill c from environment and file; on error c is unusable, err says why. */
int
config_load(struct sup_config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (conf_str("MAI_CONFIG_FILE", "", c->config_file,
	    sizeof(c->config_file), err, errlen) == -1 ||
	    conf_file_read(c->config_file, err, errlen) == -1)
		return -1;
	if (conf_str("ARI_HOST", "127.0.0.1", c->ari_host, sizeof(c->ari_host),
	    err, errlen) || conf_str("ARI_USER", NULL, c->ari_user,
	    sizeof(c->ari_user), err, errlen) || conf_str("ARI_APP", "mai",
	    c->ari_app, sizeof(c->ari_app), err, errlen) ||
	    appname_expand(c->ari_app, sizeof(c->ari_app), err, errlen) ||
	    conf_str("HTTP_LISTEN", "0.0.0.0:18080", c->http_listen,
	    sizeof(c->http_listen), err, errlen) ||
	    listen_check(c->http_listen, err, errlen))
		return -1;
	if (conf_host_check(c->ari_host) == -1)
		return conf_err(err, errlen, "ARI_HOST=%s is not valid: use a "
		    "host name, an IPv4 address or an IPv6 address (e.g. "
		    "asterisk.example.net, 10.0.0.5, [fd00::5])", c->ari_host);
	if (conf_names(c, err, errlen) || conf_numbers(c, err, errlen) ||
	    conf_heartbeat(c, err, errlen) || conf_adopt(c, err, errlen) ||
	    conf_password(c, err, errlen) || conf_user(c, err, errlen) ||
	    conf_dirs(c, err, errlen) || conf_flows(c, err, errlen))
		return -1;
	return 0;
}

/* nginx -t style: what would run, with the secret masked. */
void
config_print(const struct sup_config *c, FILE *fp)
{
	fprintf(fp, "ARI_HOST=%s\nARI_PORT=%u\nARI_TLS=%d\nARI_USER=%s\n"
	    "ARI_EVENT_FILTER=%d\n", c->ari_host, c->ari_port, c->ari_tls,
	    c->ari_user, c->ari_event_filter);
	if (c->ari_password_file[0] != '\0')
		fprintf(fp, "ARI_PASSWORD_FILE=%s\n", c->ari_password_file);
	fprintf(fp, "ARI_PASSWORD=********\nARI_APP=%s\nHTTP_LISTEN=%s\n"
	    "MAI_USER=%s\nMAI_RUNDIR=%s\nMAI_LIBEXEC_DIR=%s\n"
	    "MAI_CONFIG_FILE=%s\nLOG_LEVEL=%s\nLOG_FORMAT=%s\n"
	    "MAI_EVENT_QUEUE_MAX=%u\nMAI_EVENT_QUEUE_BYTES=%llu\n"
	    "ARI_PING_INTERVAL_MS=%u\nARI_PING_TIMEOUT_MS=%u\n"
	    "ARI_PROBE_INTERVAL_MS=%u\nARI_PROBE_TIMEOUT_MS=%u\n"
	    "MAI_STOP_GRACE_MS=%u\nFLOWS_FILE=%s\nBOT_MEDIA_HOST=%s\n"
	    "BOT_MEDIA_FORMAT=%s\nBOT_MEDIA_TRANSPORT=%s\nBOT_CONTROL_URL=%s\n"
	    "MAI_HEARTBEAT_INTERVAL_MS=%u\nMAI_HEARTBEAT_TIMEOUT_MS=%u\n"
	    "MAI_PROGRESS_MAX_MS=%u\nMAI_ADOPT_AFTER_MS=%u\n"
	    "HTTP_HEADER_TIMEOUT_MS=%u\nHTTP_MAX_CONNECTIONS=%u\n", c->ari_app,
	    c->http_listen,
	    c->mai_user[0] ? c->mai_user : "(current user)", c->rundir,
	    c->libexec_dir, c->config_file, log_level_name(c->log_level),
	    c->log_json ? "json" : "text", c->queue_max_events,
	    (unsigned long long)c->queue_max_bytes, c->ping_interval_ms,
	    c->ping_timeout_ms, c->probe_interval_ms, c->probe_timeout_ms,
	    c->stop_grace_ms, c->flows_file, c->bot_media, c->bot_format,
	    c->bot_transport, c->bot_control, c->heartbeat_interval_ms,
	    c->heartbeat_timeout_ms, c->progress_max_ms, c->adopt_after_ms,
	    c->http_header_timeout_ms, c->http_max_conns);
}

void
config_to_wire(const struct sup_config *c, struct mai_config *w)
{
	memset(w, 0, sizeof(*w));
	strcpy(w->ari_host, c->ari_host);
	strcpy(w->ari_user, c->ari_user);
	strcpy(w->ari_password, c->ari_password);
	strcpy(w->ari_app, c->ari_app);
	w->ari_port = c->ari_port;
	w->ari_tls = c->ari_tls;
	w->ari_event_filter = c->ari_event_filter;
	w->log_level = (uint8_t)c->log_level;
	w->log_json = c->log_json;
	w->drop_user = c->drop_user;
	w->uid = (uint32_t)c->uid;
	w->gid = (uint32_t)c->gid;
	w->ping_interval_ms = c->ping_interval_ms;
	w->ping_timeout_ms = c->ping_timeout_ms;
	w->probe_interval_ms = c->probe_interval_ms;
	w->probe_timeout_ms = c->probe_timeout_ms;
	w->heartbeat_interval_ms = c->heartbeat_interval_ms;
	w->adopt_after_ms = c->adopt_after_ms;
	strcpy(w->flows_file, c->flows_file);
	strcpy(w->bot_media, c->bot_media);
	strcpy(w->bot_format, c->bot_format);
	strcpy(w->bot_transport, c->bot_transport);
	strcpy(w->bot_control, c->bot_control);
	w->http_header_timeout_ms = c->http_header_timeout_ms;
	w->http_max_conns = c->http_max_conns;
}
