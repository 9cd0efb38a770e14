/* SPDX-License-Identifier: BSD-3-Clause */
/* Placement of unpinned relay directions on the least busy worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "placement.h"

#define N(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

static void
test_no_workers(void **state)
{
	struct vr_worker_load w[1] = {{.cpu = 1}};

	(void)state;
	assert_int_equal(vr_place_least_busy(NULL, 0), -1);
	assert_int_equal(vr_place_least_busy(w, 0), -1);
	assert_int_equal(vr_place_least_busy(w, 1), 0);
}

static void
test_lowest_busy(void **state)
{
	struct vr_worker_load w[] = {
	    {.cpu = 1, .busy_permille = 500, .n_dirs = 1},
	    {.cpu = 2, .busy_permille = 100, .n_dirs = 9},
	    {.cpu = 3, .busy_permille = 300, .n_dirs = 0},
	    {.cpu = 4, .busy_permille = 900, .n_dirs = 0},
	};

	(void)state;
	/* far apart in load: the load decides, not the direction count */
	assert_int_equal(vr_place_least_busy(w, N(w)), 1);
	w[3].busy_permille = 0;
	assert_int_equal(vr_place_least_busy(w, N(w)), 3);
	/* only the first n count */
	assert_int_equal(vr_place_least_busy(w, 1), 0);
	assert_int_equal(vr_place_least_busy(w, 3), 1);
}

static void
test_ties_by_dirs(void **state)
{
	struct vr_worker_load w[] = {
	    {.cpu = 1, .busy_permille = 100, .n_dirs = 3},
	    {.cpu = 2, .busy_permille = 140, .n_dirs = 1},
	};

	(void)state;
	/* 40 permille apart is noise: fewer directions wins */
	assert_int_equal(vr_place_least_busy(w, N(w)), 1);
	/* exactly 50 apart still counts as equal */
	w[1].busy_permille = 150;
	assert_int_equal(vr_place_least_busy(w, N(w)), 1);
	/* 51 apart: the load decides */
	w[1].busy_permille = 151;
	assert_int_equal(vr_place_least_busy(w, N(w)), 0);
	/* the same with the busier worker first */
	struct vr_worker_load r[] = {w[1], w[0]};

	r[0].busy_permille = 150;
	assert_int_equal(vr_place_least_busy(r, N(r)), 0);
	r[0].busy_permille = 151;
	assert_int_equal(vr_place_least_busy(r, N(r)), 1);
	/* equal load, fewer directions wins */
	w[0].busy_permille = w[1].busy_permille = 0;
	w[0].n_dirs = 2;
	w[1].n_dirs = 1;
	assert_int_equal(vr_place_least_busy(w, N(w)), 1);
}

static void
test_ties_by_cpu(void **state)
{
	struct vr_worker_load w[] = {
	    {.cpu = 7, .busy_permille = 20, .n_dirs = 2},
	    {.cpu = 3, .busy_permille = 0, .n_dirs = 2},
	    {.cpu = 5, .busy_permille = 10, .n_dirs = 2},
	};

	(void)state;
	/* same direction count, loads within the margin: lowest CPU number,
	 * wherever it stands in the array */
	assert_int_equal(vr_place_least_busy(w, N(w)), 1);
	w[1].cpu = 9;
	assert_int_equal(vr_place_least_busy(w, N(w)), 2);

	/* all idle and empty, e.g. at startup */
	struct vr_worker_load idle[] = {{.cpu = 4}, {.cpu = 2}, {.cpu = 6}, {.cpu = 3}};

	assert_int_equal(vr_place_least_busy(idle, N(idle)), 1);
}

/* Placing directions one at a time on idle workers spreads them evenly. */
static void
test_fills_evenly(void **state)
{
	struct vr_worker_load w[] = {{.cpu = 1}, {.cpu = 2}, {.cpu = 3}};

	(void)state;
	for (int i = 0; i < 12; i++) {
		int k = vr_place_least_busy(w, N(w));

		assert_int_equal(k, i % 3);
		w[k].n_dirs++;
	}
	for (unsigned k = 0; k < N(w); k++)
		assert_int_equal(w[k].n_dirs, 4);
}

/* The result is within the noise margin of the least busy worker. */
static void
test_chain_of_near_ties(void **state)
{
	struct vr_worker_load w[] = {
	    {.cpu = 1, .busy_permille = 0, .n_dirs = 5},
	    {.cpu = 2, .busy_permille = 45, .n_dirs = 4},
	    {.cpu = 3, .busy_permille = 90, .n_dirs = 3},
	    {.cpu = 4, .busy_permille = 135, .n_dirs = 0},
	};
	int k;

	(void)state;
	/* "within 50 permille" is measured from the least busy worker, so a
	 * chain of near ties cannot walk up to CPU 4, 135 permille busier. */
	k = vr_place_least_busy(w, N(w));
	assert_true(w[k].busy_permille <= 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_workers),   cmocka_unit_test(test_lowest_busy),
	    cmocka_unit_test(test_ties_by_dirs), cmocka_unit_test(test_ties_by_cpu),
	    cmocka_unit_test(test_fills_evenly), cmocka_unit_test(test_chain_of_near_ties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
