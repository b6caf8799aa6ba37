/*
 * engine.c — the engine threads: blocking, CPU-bound work (pocketsphinx
 * decoding, espeak-ng synthesis) off the event loop.
 *
 * A job is queued by the main thread, run by any engine thread, and
 * handed back through a done queue and an eventfd; its done() runs on the
 * main thread, where sessions live.  Jobs never touch a session; they
 * carry their input and output.  The loop therefore keeps pacing RTP
 * every 20 ms however long a decode takes.
 */
#include <sys/eventfd.h>

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "bot.h"

#define ENGINE_THREADS_MAX	64

TAILQ_HEAD(jobq, job);

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct jobq	 todo;
	struct jobq	 done;
	bool		 stop;
	int		 efd;
	struct event	*ev;
	pthread_t	 th[ENGINE_THREADS_MAX];
	int		 n;
} eng = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.todo = TAILQ_HEAD_INITIALIZER(eng.todo),
	.done = TAILQ_HEAD_INITIALIZER(eng.done),
	.efd = -1,
};

static void *
engine_thread(void *arg)
{
	struct job	*j;
	uint64_t	 one = 1;

	(void)arg;
	pthread_mutex_lock(&eng.mu);
	for (;;) {
		while (!eng.stop && TAILQ_EMPTY(&eng.todo))
			pthread_cond_wait(&eng.cv, &eng.mu);
		if (eng.stop)
			break;
		j = TAILQ_FIRST(&eng.todo);
		TAILQ_REMOVE(&eng.todo, j, entry);
		pthread_mutex_unlock(&eng.mu);
		j->run(j);
		pthread_mutex_lock(&eng.mu);
		TAILQ_INSERT_TAIL(&eng.done, j, entry);
		if (write(eng.efd, &one, sizeof(one)) != sizeof(one))
			log_warn("engine eventfd write");
	}
	pthread_mutex_unlock(&eng.mu);
	return NULL;
}

static void
engine_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct jobq	 ready = TAILQ_HEAD_INITIALIZER(ready);
	struct job	*j;
	uint64_t	 n;

	(void)ev;
	(void)arg;
	(void)!read(fd, &n, sizeof(n));	/* EAGAIN at shutdown is fine */
	pthread_mutex_lock(&eng.mu);
	TAILQ_CONCAT(&ready, &eng.done, entry);
	pthread_mutex_unlock(&eng.mu);
	while ((j = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, j, entry);
		j->done(j);
	}
}

void
engine_init(int n)
{
	int	i;

	if (n > ENGINE_THREADS_MAX)
		n = ENGINE_THREADS_MAX;
	if ((eng.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	eng.ev = event_new(bot_base, eng.efd, EV_READ | EV_PERSIST,
	    engine_reap, NULL);
	if (eng.ev == NULL || event_add(eng.ev, NULL) == -1)
		fatalx("can't watch the engine eventfd");
	for (i = 0; i < n; i++)
		if (pthread_create(&eng.th[i], NULL, engine_thread, NULL) != 0)
			fatalx("can't start engine thread %d", i);
	eng.n = n;
}

void
engine_submit(struct job *j)
{
	pthread_mutex_lock(&eng.mu);
	TAILQ_INSERT_TAIL(&eng.todo, j, entry);
	pthread_cond_signal(&eng.cv);
	pthread_mutex_unlock(&eng.mu);
}

/* Threads finish the job in hand; queued jobs are completed as done. */
void
engine_shutdown(void)
{
	int	i;

	pthread_mutex_lock(&eng.mu);
	eng.stop = true;
	pthread_cond_broadcast(&eng.cv);
	pthread_mutex_unlock(&eng.mu);
	for (i = 0; i < eng.n; i++)
		pthread_join(eng.th[i], NULL);
	eng.n = 0;
	TAILQ_CONCAT(&eng.done, &eng.todo, entry);
	engine_reap(eng.efd, 0, NULL);
	if (eng.ev != NULL)
		event_free(eng.ev);
	close(eng.efd);
}
