/* links: cli/stats supervise/stats_sample lib/memsize lib/template lib/error supervise/state supervise/status proto/agent_client proto/agent_proto lib/humantime lib/paths lib/userdb lib/fsutil runtime/userns_exec runtime/idmap lib/subid lib/spawn runtime/cgroup2 lib/cgroup_mounts */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/memsize.h"
#include "cli/stats.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SEC 1000000000ULL

static void cpu_percent_is_cores_busy(void **state)
{
	(void)state;
	/* one core for the whole second: 100, as docker stats shows it */
	assert_true(rl_stats_cpu_percent(0, SEC, SEC) == 100.0);
	assert_true(rl_stats_cpu_percent(5 * SEC, 5 * SEC + SEC / 4, SEC / 2) == 50.0);
	/* two cores busy: above 100 */
	assert_true(rl_stats_cpu_percent(SEC, 3 * SEC, SEC) == 200.0);
	assert_true(rl_stats_cpu_percent(7, 7, SEC) == 0.0);
	/* an empty interval, and a counter that started again */
	assert_true(rl_stats_cpu_percent(0, SEC, 0) == 0.0);
	assert_true(rl_stats_cpu_percent(2 * SEC, SEC, SEC) == 0.0);
}

static void sizes_as_docker_prints_them(void **state)
{
	(void)state;
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{0, "0B"},
		{512, "512B"},
		{1023, "1023B"},
		{1024, "1KiB"},
		{1536, "1.5KiB"},
		{2073000, "1.977MiB"},
		{32ULL << 20, "32MiB"},
		{(32ULL << 30) - (3ULL << 28), "31.25GiB"},
		{(1ULL << 30) - 1, "1024MiB"}, /* rounds up, still four digits */
		{12ULL << 40, "12TiB"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		rl_memsize_format_docker(cases[i].bytes, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
	}
}

static const char *get(json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static void row_values(void **state)
{
	(void)state;
	struct rl_stats_values v = {.valid = true, .cpu_percent = 123.456, .mem_usage = 13107200,
				    .mem_limit = 32ULL << 20, .pids = 4};
	json_t *row = rl_stats_row("web", ID, "web", false, &v);
	assert_non_null(row);
	assert_string_equal(get(row, "ID"), "0123456789ab");
	assert_string_equal(get(row, "Container"), "web");
	assert_string_equal(get(row, "Name"), "web");
	assert_string_equal(get(row, "CPUPerc"), "123.46%");
	assert_string_equal(get(row, "MemUsage"), "12.5MiB / 32MiB");
	assert_string_equal(get(row, "MemPerc"), "39.06%");
	assert_string_equal(get(row, "PIDs"), "4");
	assert_string_equal(get(row, "NetIO"), "--");
	assert_string_equal(get(row, "BlockIO"), "--");
	assert_int_equal(json_object_size(row), 9);
	json_decref(row);

	row = rl_stats_row("0123456789ab", ID, "web", true, &v);
	assert_string_equal(get(row, "ID"), ID);
	json_decref(row);

	/* no limit known at all: no division by zero */
	v.mem_limit = 0;
	row = rl_stats_row("web", ID, "web", false, &v);
	assert_string_equal(get(row, "MemPerc"), "0.00%");
	json_decref(row);
}

static void row_without_values_shows_dashes(void **state)
{
	(void)state;
	struct rl_stats_values v = {.valid = false, .cpu_percent = 50, .pids = 3};
	json_t *rows[] = {rl_stats_row("web", ID, "web", false, &v),
			  rl_stats_row("web", ID, "web", false, NULL)};
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(get(rows[i], "CPUPerc"), "--");
		assert_string_equal(get(rows[i], "MemUsage"), "-- / --");
		assert_string_equal(get(rows[i], "MemPerc"), "--");
		assert_string_equal(get(rows[i], "PIDs"), "--");
		assert_string_equal(get(rows[i], "Name"), "web");
		json_decref(rows[i]);
	}
}

/* Renders rows through a format into a string the caller frees. */
static char *write_rows(const char *format, json_t **rows, size_t n)
{
	struct rl_stats_format f;
	struct rl_error err = {0};
	assert_int_equal(rl_stats_format_parse(format, &f, &err), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(rl_stats_write(out, &f, rows, n, &err), 0);
	fclose(out);
	rl_stats_format_free(&f);
	return text;
}

static void header_alone_as_docker(void **state)
{
	(void)state;
	/* Docker's tabwriter: padding 3, columns at least 10 wide, last one bare */
	const char *want =
		"CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     PIDS\n";
	char *text = write_rows(NULL, NULL, 0);
	assert_string_equal(text, want);
	free(text);
	text = write_rows("table", NULL, 0);
	assert_string_equal(text, want);
	free(text);
	/* json and plain templates have no header */
	text = write_rows("json", NULL, 0);
	assert_string_equal(text, "");
	free(text);
}

static void table_columns_grow_with_their_cells(void **state)
{
	(void)state;
	struct rl_stats_values v = {.valid = true, .cpu_percent = 0.5, .mem_usage = 2073000,
				    .mem_limit = (32ULL << 30) - (3ULL << 28), .pids = 12};
	json_t *rows[] = {rl_stats_row("0123456789ab", ID, "a_rather_long_name", false, &v),
			  rl_stats_row("0123456789ab", ID, "db", false, NULL)};
	char *text = write_rows(NULL, rows, 2);
	assert_string_equal(text,
			    "CONTAINER ID   NAME                 CPU %     MEM USAGE / LIMIT     MEM %     PIDS\n"
			    "0123456789ab   a_rather_long_name   0.50%     1.977MiB / 31.25GiB   0.01%     12\n"
			    "0123456789ab   db                   --        -- / --               --        --\n");
	free(text);
	json_decref(rows[0]);
	json_decref(rows[1]);
}

static void json_lines_have_dockers_keys(void **state)
{
	(void)state;
	struct rl_stats_values v = {.valid = true, .cpu_percent = 0.52, .mem_usage = 1024,
				    .mem_limit = 1 << 20, .pids = 3};
	json_t *rows[] = {rl_stats_row("0123456789ab", ID, "web", false, &v),
			  rl_stats_row("0123456789ab", ID, "db", false, NULL)};
	char *text = write_rows("json", rows, 2);
	assert_string_equal(
		text,
		"{\"BlockIO\":\"--\",\"CPUPerc\":\"0.52%\",\"Container\":\"0123456789ab\","
		"\"ID\":\"0123456789ab\",\"MemPerc\":\"0.10%\",\"MemUsage\":\"1KiB / 1MiB\","
		"\"Name\":\"web\",\"NetIO\":\"--\",\"PIDs\":\"3\"}\n"
		"{\"BlockIO\":\"--\",\"CPUPerc\":\"--\",\"Container\":\"0123456789ab\","
		"\"ID\":\"0123456789ab\",\"MemPerc\":\"--\",\"MemUsage\":\"-- / --\","
		"\"Name\":\"db\",\"NetIO\":\"--\",\"PIDs\":\"--\"}\n");
	free(text);
	json_decref(rows[0]);
	json_decref(rows[1]);
}

static void templates_plain_and_table(void **state)
{
	(void)state;
	struct rl_stats_values v = {.valid = true, .cpu_percent = 1, .mem_usage = 1536,
				    .mem_limit = 1 << 20, .pids = 1};
	json_t *rows[] = {rl_stats_row("web", ID, "web", false, &v)};
	char *text = write_rows("{{.Name}} {{.MemUsage}}", rows, 1);
	assert_string_equal(text, "web 1.5KiB / 1MiB\n");
	free(text);
	/* the escapes Docker's users type in a shell */
	text = write_rows("table {{.Name}}\\t{{.PIDs}}", rows, 1);
	assert_string_equal(text, "NAME      PIDS\nweb       1\n");
	free(text);
	text = write_rows("{{.Container}}:\\n{{.CPUPerc}}", rows, 1);
	assert_string_equal(text, "web:\n1.00%\n");
	free(text);
	json_decref(rows[0]);
}

static void bad_templates_are_refused_up_front(void **state)
{
	(void)state;
	static const char *const bad[] = {"{{.Name", "{{nosuchfunc .Name}}", "table {{end}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_stats_format f;
		struct rl_error err = {0};
		assert_true(rl_stats_format_parse(bad[i], &f, &err) < 0);
		assert_non_null(strstr(err.msg, "template"));
		assert_null(f.tmpl);
	}
}

static void align_counts_characters_not_bytes(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	rl_stats_align(out, "é\tx\nabcdefghijkl\ty\nlast line without tabs");
	fclose(out);
	assert_string_equal(text, "é              x\nabcdefghijkl   y\nlast line without tabs\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpu_percent_is_cores_busy),
		cmocka_unit_test(sizes_as_docker_prints_them),
		cmocka_unit_test(row_values),
		cmocka_unit_test(row_without_values_shows_dashes),
		cmocka_unit_test(header_alone_as_docker),
		cmocka_unit_test(table_columns_grow_with_their_cells),
		cmocka_unit_test(json_lines_have_dockers_keys),
		cmocka_unit_test(templates_plain_and_table),
		cmocka_unit_test(bad_templates_are_refused_up_front),
		cmocka_unit_test(align_counts_characters_not_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
