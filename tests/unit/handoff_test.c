/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RCU handoff between the control thread and the workers. rte_rcu_qsbr
 * works on plain memory, so this runs without EAL. Under ASan any worker
 * touching a view, or a port session, that the control side already freed
 * fails the concurrency test.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dir.h"
#include "handoff.h"
#include "port.h"

#define N_WORKERS 2

static struct vr_dir *
dir_new(enum vr_dir_kind kind, int relay_id)
{
	/* struct vr_dir is cache-line aligned; its size is a multiple of that */
	struct vr_dir *d = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*d));

	assert_non_null(d);
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->relay_id = relay_id;
	d->worker = -1;
	return d;
}

/* A port whose session state lives in memory of its own, allocated before
 * handoff_port_up and freed right after handoff_port_down returns, as a
 * vhost port's vid is only valid in between: a worker that reads it after
 * the grace period reads freed memory. */
struct test_port {
	struct vr_port port;
	uint32_t *session; /* SESSION_CANARY while it lives */
};

#define SESSION_CANARY 0xc0ffee01u

static struct test_port *
port_new(void)
{
	struct test_port *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	return p;
}

static void
session_start(struct test_port *p)
{
	uint32_t *s = malloc(4 * sizeof(*s));

	assert_non_null(s);
	s[0] = s[1] = s[2] = s[3] = SESSION_CANARY;
	p->session = s;
	handoff_port_up(&p->port); /* publishes what was written before it */
}

static void
session_end(struct test_port *p)
{
	uint32_t *s = p->session;

	handoff_port_down(&p->port);
	assert_int_equal(p->port.gen, 0);
	p->session = NULL;
	free(s);
}

/* How many times d appears in worker w's view. */
static unsigned
count_in_view(unsigned w, const struct vr_dir *d)
{
	const struct vr_worker_view *v = handoff_view(w);
	unsigned n = 0;

	for (uint16_t i = 0; v != NULL && i < v->n; i++)
		n += v->dir[i] == d;
	return n;
}

/* The control side's bookkeeping agrees with the views: an attached dir is in
 * exactly one view, its worker's; a detached one in none. */
static void
check_dir(const struct vr_dir *d)
{
	unsigned total = 0;

	for (unsigned w = 0; w < N_WORKERS; w++)
		total += count_in_view(w, d);
	if (d->worker < 0) {
		assert_int_equal(total, 0);
	} else {
		assert_int_equal(total, 1);
		assert_int_equal(count_in_view((unsigned)d->worker, d), 1);
	}
}

static void
check_counts(void)
{
	for (unsigned w = 0; w < N_WORKERS; w++) {
		const struct vr_worker_view *v = handoff_view(w);

		assert_int_equal(handoff_worker_dirs(w), v != NULL ? v->n : 0);
		if (v != NULL)
			assert_true(v->n > 0); /* an empty view is NULL */
	}
}

static int
setup(void **state)
{
	(void)state;
	return handoff_init(N_WORKERS);
}

static int
teardown(void **state)
{
	(void)state;
	handoff_fini();
	return 0;
}

static void
test_init(void **state)
{
	(void)state;
	/* (setup ran handoff_init(2)) */
	assert_null(handoff_view(0));
	assert_null(handoff_view(1));
	assert_int_equal(handoff_worker_dirs(0), 0);
	assert_int_equal(handoff_worker_dirs(1), 0);
	assert_int_equal(handoff_worker_dirs(N_WORKERS), 0);
	/* a grace period with no worker online ends at once */
	handoff_synchronize();
}

static void
test_init_limits(void **state)
{
	(void)state;
	handoff_fini();
	assert_int_equal(handoff_init(0), -1);
	assert_int_equal(handoff_init(VR_MAX_CPUS + 1), -1);
	assert_int_equal(handoff_init(VR_MAX_CPUS), 0);
	handoff_fini();
	assert_int_equal(handoff_init(N_WORKERS), 0);
}

static void
test_attach_detach(void **state)
{
	struct vr_dir *a = dir_new(VR_VM2DEV, 0);
	struct vr_dir *b = dir_new(VR_DEV2VM, 0);
	struct vr_dir *c = dir_new(VR_VM2DEV, 1);
	struct vr_worker_view *v;

	(void)state;
	assert_int_equal(handoff_attach(a, 0), 0);
	assert_int_equal(handoff_attach(b, 1), 0);
	assert_int_equal(handoff_attach(c, 0), 0);
	assert_int_equal(a->worker, 0);
	assert_int_equal(b->worker, 1);
	assert_int_equal(c->worker, 0);

	v = handoff_view(0);
	assert_non_null(v);
	assert_int_equal(v->n, 2);
	assert_ptr_equal(v->dir[0], a);
	assert_ptr_equal(v->dir[1], c);
	v = handoff_view(1);
	assert_non_null(v);
	assert_int_equal(v->n, 1);
	assert_ptr_equal(v->dir[0], b);
	assert_int_equal(handoff_worker_dirs(0), 2);
	assert_int_equal(handoff_worker_dirs(1), 1);

	/* an attached dir cannot be attached again, to either worker */
	v = handoff_view(0);
	assert_int_equal(handoff_attach(a, 0), -1);
	assert_int_equal(handoff_attach(a, 1), -1);
	assert_ptr_equal(handoff_view(0), v);
	assert_int_equal(a->worker, 0);
	assert_int_equal(handoff_worker_dirs(0), 2);
	assert_int_equal(handoff_worker_dirs(1), 1);

	/* no such worker */
	struct vr_dir *d = dir_new(VR_DEV2VM, 1);

	assert_int_equal(handoff_attach(d, N_WORKERS), -1);
	assert_int_equal(d->worker, -1);
	check_dir(d);

	/* detach the first of two: the other stays */
	assert_int_equal(handoff_detach(a), 0);
	assert_int_equal(a->worker, -1);
	v = handoff_view(0);
	assert_non_null(v);
	assert_int_equal(v->n, 1);
	assert_ptr_equal(v->dir[0], c);
	assert_int_equal(handoff_worker_dirs(0), 1);

	/* detach the last: the view goes */
	assert_int_equal(handoff_detach(c), 0);
	assert_null(handoff_view(0));
	assert_int_equal(handoff_worker_dirs(0), 0);

	/* detaching a detached dir changes nothing (handoff_move relies on it) */
	assert_int_equal(handoff_detach(c), 0);
	assert_null(handoff_view(0));
	assert_int_equal(handoff_worker_dirs(1), 1);

	/* and a detached dir can be attached again */
	assert_int_equal(handoff_attach(a, 1), 0);
	v = handoff_view(1);
	assert_int_equal(v->n, 2);
	assert_ptr_equal(v->dir[0], b);
	assert_ptr_equal(v->dir[1], a);

	check_dir(a);
	check_dir(b);
	check_dir(c);
	check_counts();
	assert_int_equal(handoff_detach(a), 0);
	assert_int_equal(handoff_detach(b), 0);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void
test_move(void **state)
{
	struct vr_dir *a = dir_new(VR_VM2DEV, 0);
	struct vr_dir *b = dir_new(VR_DEV2VM, 0);

	(void)state;
	assert_int_equal(handoff_attach(a, 0), 0);
	assert_int_equal(handoff_attach(b, 0), 0);

	assert_int_equal(handoff_move(a, 1), 0);
	assert_int_equal(a->worker, 1);
	assert_int_equal(count_in_view(0, a), 0);
	assert_int_equal(count_in_view(1, a), 1);
	assert_int_equal(count_in_view(0, b), 1);
	assert_int_equal(handoff_worker_dirs(0), 1);
	assert_int_equal(handoff_worker_dirs(1), 1);

	/* to where it already is: nothing changes */
	struct vr_worker_view *v1 = handoff_view(1);

	assert_int_equal(handoff_move(a, 1), 0);
	assert_ptr_equal(handoff_view(1), v1);
	check_dir(a);

	/* to no such worker: fails and stays where it was */
	assert_int_equal(handoff_move(a, N_WORKERS), -1);
	assert_int_equal(a->worker, 1);
	check_dir(a);

	/* back, and both on one worker */
	assert_int_equal(handoff_move(a, 0), 0);
	check_dir(a);
	check_dir(b);
	assert_null(handoff_view(1));
	assert_int_equal(handoff_worker_dirs(0), 2);

	/* moving a detached dir attaches it */
	assert_int_equal(handoff_detach(b), 0);
	assert_int_equal(handoff_move(b, 1), 0);
	assert_int_equal(b->worker, 1);
	check_dir(b);
	check_counts();

	assert_int_equal(handoff_detach(a), 0);
	assert_int_equal(handoff_detach(b), 0);
	free(a);
	free(b);
}

static void
test_port_session(void **state)
{
	struct test_port *p = port_new();
	uint32_t first;

	(void)state;
	handoff_port_queues(&p->port, 0x3, 0x1);
	assert_int_equal(port_rxq(&p->port), 0x3);
	assert_int_equal(port_txq(&p->port), 0x1);
	assert_int_equal(port_gen(&p->port), 0);
	session_start(p);
	first = port_gen(&p->port);
	assert_int_not_equal(first, 0);
	session_end(p);
	assert_int_equal(port_gen(&p->port), 0);
	/* every session has a number of its own */
	session_start(p);
	assert_int_not_equal(port_gen(&p->port), 0);
	assert_int_not_equal(port_gen(&p->port), first);
	/* the queues are published apart from the session */
	assert_int_equal(port_rxq(&p->port), 0x3);
	session_end(p);
	/* down twice is harmless */
	handoff_port_down(&p->port);
	assert_int_equal(port_gen(&p->port), 0);
	free(p);
}

/* ---- concurrency ------------------------------------------------------------ */

#define N_RELAYS    4
#define N_OPS       2000
#define PASS_ROUNDS 64

struct worker {
	pthread_t thread;
	unsigned idx;
	pthread_barrier_t *online;
	atomic_bool *stop;
	/* results, read after join */
	uint64_t passes;
	uint64_t dirs_seen;
	uint64_t sessions_seen;
	uint64_t sum;
	uint64_t bad;
};

/* What a worker does with one direction: read its [ctl] fields and, when
 * its port has a session, the session's state, as a vhost port's rx/tx
 * read the vid. A freed session is an ASan error here. */
static void
poll_dir(struct worker *w, const struct vr_dir *d)
{
	const struct test_port *p = (const struct test_port *)d->src;
	uint32_t gen = port_gen(&p->port);

	w->bad += d->kind != VR_VM2DEV && d->kind != VR_DEV2VM;
	w->dirs_seen++;
	if (gen == 0)
		return;
	const volatile uint32_t *s = p->session;

	for (int k = 0; k < 4; k++) {
		w->bad += s[k] != SESSION_CANARY;
		w->sum += s[k];
	}
	w->sessions_seen++;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	handoff_worker_online(w->idx);
	pthread_barrier_wait(w->online);
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		struct vr_worker_view *v = handoff_view(w->idx);

		/* a pass: every direction of the view, a few rounds, so that the
		 * view is in use for a while (a freed view is an ASan error) */
		for (int round = 0; round < PASS_ROUNDS; round++)
			for (uint16_t i = 0; v != NULL && i < v->n; i++)
				poll_dir(w, v->dir[i]);
		handoff_quiescent(w->idx);
		w->passes++;
		/* real workers own their CPU; here three threads may share two */
		sched_yield();
	}
	handoff_worker_offline(w->idx);
	w->bad += w->sum == 0 && w->sessions_seen > 0;
	return NULL;
}

static void
test_concurrent_workers(void **state)
{
	struct vr_dir *dirs[2 * N_RELAYS];
	struct test_port *ports[N_RELAYS];
	struct worker workers[N_WORKERS];
	pthread_barrier_t online;
	atomic_bool stop = false;
	unsigned seed = 20240611, ops[4] = {0};

	(void)state;
	for (int r = 0; r < N_RELAYS; r++)
		ports[r] = port_new();
	for (int i = 0; i < 2 * N_RELAYS; i++) {
		dirs[i] = dir_new((enum vr_dir_kind)(i % 2), i / 2);
		dirs[i]->src = dirs[i]->dst = &ports[i / 2]->port;
	}
	assert_int_equal(pthread_barrier_init(&online, NULL, N_WORKERS + 1), 0);
	for (unsigned i = 0; i < N_WORKERS; i++) {
		workers[i] = (struct worker){.idx = i, .online = &online, .stop = &stop};
		assert_int_equal(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]),
		                 0);
	}
	/* both workers are online before the first change */
	pthread_barrier_wait(&online);

	for (int op = 0; op < N_OPS; op++) {
		int r = rand_r(&seed) % N_RELAYS;
		struct vr_dir *d = dirs[2 * r + rand_r(&seed) % 2];
		unsigned w = (unsigned)rand_r(&seed) % N_WORKERS;
		int kind = rand_r(&seed) % 4;

		ops[kind]++;
		switch (kind) {
		case 0:
			if (d->worker >= 0)
				assert_int_equal(handoff_attach(d, w), -1);
			else
				assert_int_equal(handoff_attach(d, w), 0);
			break;
		case 1:
			assert_int_equal(handoff_detach(d), 0);
			break;
		case 2:
			assert_int_equal(handoff_move(d, w), 0);
			assert_int_equal(d->worker, (int)w);
			break;
		case 3:
			/* the session ends (its state freed), and mostly a new one starts */
			if (ports[r]->session != NULL)
				session_end(ports[r]);
			if (rand_r(&seed) % 8 != 0)
				session_start(ports[r]);
			break;
		}
		for (int i = 0; i < 2 * N_RELAYS; i++)
			check_dir(dirs[i]);
		check_counts();
	}

	atomic_store(&stop, true);
	for (unsigned i = 0; i < N_WORKERS; i++)
		assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
	pthread_barrier_destroy(&online);

	for (unsigned i = 0; i < N_WORKERS; i++) {
		print_message("worker %u: %llu passes, %llu dirs, %llu sessions seen\n", i,
		              (unsigned long long)workers[i].passes,
		              (unsigned long long)workers[i].dirs_seen,
		              (unsigned long long)workers[i].sessions_seen);
		assert_int_equal(workers[i].bad, 0);
		/* every grace period needed a pass of each worker */
		assert_true(workers[i].passes > 0);
		assert_true(workers[i].dirs_seen > 0);
		assert_true(workers[i].sessions_seen > 0);
	}
	for (int k = 0; k < 4; k++)
		assert_true(ops[k] > 0);

	for (int i = 0; i < 2 * N_RELAYS; i++)
		assert_int_equal(handoff_detach(dirs[i]), 0);
	for (int r = 0; r < N_RELAYS; r++) {
		if (ports[r]->session != NULL)
			session_end(ports[r]);
		free(ports[r]);
	}
	for (int i = 0; i < 2 * N_RELAYS; i++)
		free(dirs[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attach_detach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_move, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_workers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
