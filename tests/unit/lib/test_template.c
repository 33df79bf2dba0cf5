/* links: lib/template lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/template.h"

/* Test documents are written with ' for " to stay readable. */
static json_t *doc_from(const char *squoted)
{
	char *text = strdup(squoted);
	assert_non_null(text);
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	json_error_t e;
	json_t *doc = json_loads(text, JSON_DECODE_ANY, &e);
	free(text);
	if (!doc)
		fail_msg("bad test JSON: %s at column %d", e.text, e.column);
	return doc;
}

/* What `docker inspect` shows for a running nginx, keys in Docker's order. */
static const char docker_json[] =
	"{'Id': '4f0c2a9d1b7e3c5f8a6d4e2b0c9a7f5e3d1b8c6a4f2e0d9b7c5a3f1e8d6b4c2a',"
	" 'Created': '2024-05-01T10:00:00.000000000Z',"
	" 'Path': 'nginx', 'Args': ['-g', 'daemon off;'],"
	" 'State': {'Status': 'running', 'Running': true, 'Paused': false,"
	"   'Restarting': false, 'OOMKilled': false, 'Dead': false, 'Pid': 4242,"
	"   'ExitCode': 0, 'Error': '', 'StartedAt': '2024-05-01T10:00:01.5Z',"
	"   'FinishedAt': '0001-01-01T00:00:00Z'},"
	" 'Image': 'sha256:9c7a54a9a43c', 'Name': '/web', 'RestartCount': 0,"
	" 'HostConfig': {'Memory': 536870912, 'NanoCpus': 1500000000,"
	"   'Binds': ['/srv/www:/usr/share/nginx/html:ro', '/srv/conf:/etc/nginx/conf.d'],"
	"   'NetworkMode': 'bridge',"
	"   'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}],"
	"                    '443/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '8443'}]},"
	"   'RestartPolicy': {'Name': 'no', 'MaximumRetryCount': 0}},"
	" 'Config': {'Hostname': '4f0c2a9d1b7e', 'User': '101:101',"
	"   'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',"
	"           'NGINX_VERSION=1.25.4', 'TZ=UTC'],"
	"   'Cmd': ['nginx', '-g', 'daemon off;'], 'Image': 'nginx:1.25', 'WorkingDir': '/',"
	"   'Entrypoint': null,"
	"   'Labels': {'maintainer': 'NGINX Docker Maintainers', 'com.example.tier': 'frontend'}},"
	" 'Mounts': [{'Type': 'bind', 'Source': '/srv/www', 'Destination': '/usr/share/nginx/html',"
	"             'RW': false},"
	"            {'Type': 'bind', 'Source': '/srv/conf', 'Destination': '/etc/nginx/conf.d',"
	"             'RW': true}],"
	" 'Empty': [], 'Matrix': [[1, 2], [3]]}";

struct render_case {
	const char *tmpl, *want;
};

struct error_case {
	const char *tmpl, *msg; /* the whole message */
};

static void check_renders(json_t *doc, const struct render_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *out = NULL;
		struct rl_error err = {0};
		int r = rl_template_render(cases[i].tmpl, doc, &out, &err);
		if (r != 0)
			fail_msg("%s: returned %d: %s", cases[i].tmpl, r, err.msg);
		if (strcmp(out, cases[i].want) != 0) {
			print_error("template %s\n want [%s]\n  got [%s]\n", cases[i].tmpl,
				    cases[i].want, out);
			free(out);
			fail();
		}
		free(out);
	}
}

/* Every failure: -EINVAL, no output at all, one line saying what and where. */
static void check_errors(json_t *doc, const struct error_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *out = (char *)"sentinel";
		struct rl_error err = {0};
		int r = rl_template_render(cases[i].tmpl, doc, &out, &err);
		if (r != -EINVAL)
			fail_msg("%s: returned %d, want -EINVAL (%s)", cases[i].tmpl, r, err.msg);
		assert_null(out);
		assert_int_equal(err.code, EINVAL);
		assert_null(strchr(err.msg, '\n'));
		if (strcmp(err.msg, cases[i].msg) != 0)
			fail_msg("template %s\n want [%s]\n  got [%s]", cases[i].tmpl, cases[i].msg,
				 err.msg);
	}
}

#define CHECK_RENDERS(doc, cases) check_renders(doc, cases, sizeof(cases) / sizeof(cases[0]))
#define CHECK_ERRORS(doc, cases) check_errors(doc, cases, sizeof(cases) / sizeof(cases[0]))

/* ---- the templates people give `docker inspect -f` */

static void docker_templates(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{.State.OOMKilled}}", "false"},
		{"{{.State.Pid}}", "4242"},
		{"{{.Name}}", "/web"},
		{"{{json .State}}",
		 "{\"Dead\":false,\"Error\":\"\",\"ExitCode\":0,\"FinishedAt\":\"0001-01-01T00:00:00Z\","
		 "\"OOMKilled\":false,\"Paused\":false,\"Pid\":4242,\"Restarting\":false,"
		 "\"Running\":true,\"StartedAt\":\"2024-05-01T10:00:01.5Z\",\"Status\":\"running\"}"},
		{"pid={{.State.Pid}} status={{.State.Status}}", "pid=4242 status=running"},
		{"{{range .Config.Env}}{{println .}}{{end}}",
		 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
		 "NGINX_VERSION=1.25.4\nTZ=UTC\n"},
		{"{{.Id}}", "4f0c2a9d1b7e3c5f8a6d4e2b0c9a7f5e3d1b8c6a4f2e0d9b7c5a3f1e8d6b4c2a"},
		{"{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} [{{.State.Error}}]",
		 "running true 0 []"},
		{"{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "536870912 1500000000"},
		{"{{.Config.Image}} {{.Config.WorkingDir}} {{.Config.User}} {{.Config.Hostname}}",
		 "nginx:1.25 / 101:101 4f0c2a9d1b7e"},
		{"{{join .Config.Cmd \" \"}}", "nginx -g daemon off;"},
		{"{{.Config.Cmd}}", "[nginx -g daemon off;]"},
		{"{{range .HostConfig.Binds}}{{.}}\n{{end}}",
		 "/srv/www:/usr/share/nginx/html:ro\n/srv/conf:/etc/nginx/conf.d\n"},
		{"{{range .Mounts}}{{.Source}} -> {{.Destination}}{{if not .RW}} (ro){{end}};{{end}}",
		 "/srv/www -> /usr/share/nginx/html (ro);/srv/conf -> /etc/nginx/conf.d;"},
		/* Docker's documentation, verbatim */
		{"{{range $p, $conf := .HostConfig.PortBindings}} {{$p}} -> "
		 "{{(index $conf 0).HostPort}} {{end}}",
		 " 443/tcp -> 8443  80/tcp -> 8080 "},
		{"{{(index (index .HostConfig.PortBindings \"80/tcp\") 0).HostPort}}", "8080"},
		{"{{index .Config.Labels \"com.example.tier\"}}", "frontend"},
		{"{{json .Config.Labels}}",
		 "{\"com.example.tier\":\"frontend\",\"maintainer\":\"NGINX Docker Maintainers\"}"},
		{"{{if .State.Running}}up since {{.State.StartedAt}}{{else}}exited "
		 "{{.State.ExitCode}}{{end}}",
		 "up since 2024-05-01T10:00:01.5Z"},
		{"{{.HostConfig.RestartPolicy.Name}}", "no"},
		{"{{.Config.Entrypoint}}", "<no value>"},
		{"{{.State.Health.Status}}", "<no value>"},
		{"{{upper .State.Status}}", "RUNNING"},
		{"{{len .Mounts}} mounts", "2 mounts"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

/* ---- syntax */

static void text_fields_and_spacing(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"", ""},
		{"plain text", "plain text"},
		{"} and { and }} alone", "} and { and }} alone"},
		{"name={{.Name}}!", "name=/web!"},
		{"{{.Name}}{{.Name}}", "/web/web"},
		{"{{ .Name }}", "/web"},
		{"{{\t.Name\n}}", "/web"},
		{"{{.State.Pid}}", "4242"},
		{"{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "0"},
		{"{{.State.Error}}", ""},
		{"h\xc3\xa9llo {{.Name}}", "h\xc3\xa9llo /web"},
		{"{{\"{{\"}}", "{{"},
		{"{{\"}}\"}}", "}}"},
		{"{{`raw \\n {{x}}`}}", "raw \\n {{x}}"},
		{"{{\"a\\tb\\u00e9\\x41\\101\\\"\\\\\"}}", "a\tb\xc3\xa9" "AA\"\\"},
		{"{{1.5}} {{1e3}} {{-2}} {{+3}} {{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}",
		 "1.5 1000 -2 3 31 15 15 5 1000"},
		{"{{true}} {{false}}", "true false"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

static void trim_markers_and_comments(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"a  \t{{- .Name}}", "a/web"},
		{"{{.Name -}}  \n b", "/webb"},
		{"a \r\n\t{{- .Name -}} \r\n b", "a/webb"},
		{"{{- .Name -}}", "/web"},
		{"x {{-3}}", "x -3"}, /* a negative number, not a trim marker */
		{"{{3 -}} x", "3x"},
		{"{{range .Config.Cmd -}}\n  {{.}};\n{{- end}}", "nginx;-g;daemon off;;"},
		{"{{if .State.Running -}}\n  up\n{{- else -}}\n  down\n{{- end}}", "up"},
		{"a {{/* a note */}} b", "a  b"},
		{"a {{- /* a note */ -}} b", "ab"},
		{"{{/* spans\nlines {{ }} */}}x", "x"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

/* ---- values */

static void missing_and_null(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{.Nope}}", "<no value>"},
		{"{{.State.Nope}}", "<no value>"},
		{"{{.Nope.Deeper.Still}}", "<no value>"},
		{"{{(.Nope).X}}", "<no value>"},
		/* Go unwraps a nil interface{} result into no value */
		{"{{.Config.Entrypoint}}", "<no value>"},
		{"{{index .Config.Labels \"nope\"}}", "<no value>"},
		/* inside a container, and as an argument, nil prints as fmt does */
		{"{{.Nulls}}", "[a <nil>]"},
		{"{{.NullMap}}", "map[k:<nil>]"},
		{"{{print .Nope}} {{print .Config.Entrypoint}}", "<nil> <nil>"},
		{"{{range .Nulls}}[{{.}}]{{end}}", "[a][<no value>]"},
		{"{{json .Nope}} {{json .Config.Entrypoint}} {{json .Nulls}}", "null null [\"a\",null]"},
		{"{{if .Nope}}y{{else}}n{{end}}", "n"},
		{"{{range .Nope}}x{{else}}none{{end}}", "none"},
		{"{{range .Config.Entrypoint}}x{{else}}none{{end}}", "none"},
		{"{{with .Nope}}x{{else}}none{{end}}", "none"},
		{"{{$v := .Nope}}{{$v}}", "<no value>"},
	};
	json_t *doc = doc_from(docker_json);
	json_object_set_new(doc, "Nulls", doc_from("['a', null]"));
	json_object_set_new(doc, "NullMap", doc_from("{'k': null}"));
	CHECK_RENDERS(doc, cases);
	json_decref(doc);

	/* no document at all */
	static const struct render_case nodoc[] = {
		{"{{.Name}}", "<no value>"},
		{"{{.}}", "<no value>"},
		{"{{json .}}", "null"},
		{"{{range .}}x{{else}}empty{{end}}", "empty"},
	};
	CHECK_RENDERS(NULL, nodoc);
}

static const char values_json[] =
	"{'s': 'a b', 't': true, 'f': false, 'i': 42, 'neg': -7, 'big': 9007199254740993,"
	" 'r': 1.5, 'one': 1.0, 'mil': 1e6, 'e5': 123456.0, 'small': 0.0001, 'tiny': 0.00001,"
	" 'micro': 1e-7, 'huge': 1e21, 'mem': 536870912.0, 'third': 0.3333333333333333,"
	" 'nz': -0.0, 'z': 0.0, 'max': 1.7976931348623157e308, 'min': 5e-324,"
	" 'a': ['x', 1, true, null, [1, 2], {'k': 'v'}],"
	" 'o': {'b': 2, 'a': [], 'c': {}, 'B': 'upper first'}, 'ea': [], 'eo': {},"
	" 'u': 'caf\\u00e9\\n'}";

/* fmt's %v of what encoding/json decodes into interface{} */
static void value_printing(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{.s}}", "a b"},
		{"{{.t}} {{.f}}", "true false"},
		{"{{.i}} {{.neg}} {{.big}}", "42 -7 9007199254740993"},
		{"{{.r}} {{.one}} {{.z}} {{.nz}}", "1.5 1 0 -0"},
		{"{{.e5}} {{.mil}} {{.mem}}", "123456 1e+06 5.36870912e+08"},
		{"{{.small}} {{.tiny}} {{.micro}}", "0.0001 1e-05 1e-07"},
		{"{{.huge}} {{.third}}", "1e+21 0.3333333333333333"},
		{"{{.max}} {{.min}}", "1.7976931348623157e+308 5e-324"},
		{"{{.a}}", "[x 1 true <nil> [1 2] map[k:v]]"},
		{"{{.o}}", "map[B:upper first a:[] b:2 c:map[]]"},
		{"{{.ea}}{{.eo}}", "[]map[]"},
		{"{{.u}}", "caf\xc3\xa9\n"},
	};
	json_t *doc = doc_from(values_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

/* encoding/json, as Docker's json function: compact, keys sorted, no HTML escaping */
static void json_function(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{json .s}} {{json .i}} {{json .t}}", "\"a b\" 42 true"},
		{"{{json .a}}", "[\"x\",1,true,null,[1,2],{\"k\":\"v\"}]"},
		{"{{json .o}}", "{\"B\":\"upper first\",\"a\":[],\"b\":2,\"c\":{}}"},
		{"{{json .r}} {{json .one}} {{json .nz}} {{json .mil}} {{json .mem}}",
		 "1.5 1 -0 1000000 536870912"},
		{"{{json .small}} {{json .tiny}} {{json .micro}} {{json .huge}} {{json .min}}",
		 "0.0001 0.00001 1e-7 1e+21 5e-324"},
		{"{{json .big}}", "9007199254740993"},
		{"{{json .u}}", "\"caf\xc3\xa9\\n\""},
		{"{{json \"<&> \\\"q\\\" \\\\ \\b\\f\\n\\r\\t\\x01\\x7f \\u2028\\u2029\"}}",
		 "\"<&> \\\"q\\\" \\\\ \\b\\f\\n\\r\\t\\u0001\x7f \\u2028\\u2029\""},
		{"{{json \"bad \\xff\\xc3 end\"}}", "\"bad \\ufffd\\ufffd end\""},
		{"{{.o | json}}", "{\"B\":\"upper first\",\"a\":[],\"b\":2,\"c\":{}}"},
		{"{{json .}}",
		 "{\"a\":[\"x\",1,true,null,[1,2],{\"k\":\"v\"}],\"big\":9007199254740993,"
		 "\"e5\":123456,\"ea\":[],\"eo\":{},\"f\":false,\"huge\":1e+21,\"i\":42,"
		 "\"max\":1.7976931348623157e+308,\"mem\":536870912,\"micro\":1e-7,"
		 "\"mil\":1000000,\"min\":5e-324,\"neg\":-7,\"nz\":-0,"
		 "\"o\":{\"B\":\"upper first\",\"a\":[],\"b\":2,\"c\":{}},\"one\":1,\"r\":1.5,"
		 "\"s\":\"a b\",\"small\":0.0001,\"t\":true,\"third\":0.3333333333333333,"
		 "\"tiny\":0.00001,\"u\":\"caf\xc3\xa9\\n\",\"z\":0}"},
	};
	json_t *doc = doc_from(values_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

/* ---- functions */

static void index_and_len(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{index .Config.Env 1}}", "NGINX_VERSION=1.25.4"},
		{"{{index .Config.Labels \"maintainer\"}}", "NGINX Docker Maintainers"},
		{"{{index .HostConfig.PortBindings \"443/tcp\" 0 \"HostIp\"}}", "127.0.0.1"},
		{"{{index .Matrix 1 0}}", "3"},
		{"{{index .Name 1}}", "119"}, /* a byte, as Go's index of a string */
		{"{{index .Config.Cmd}}", "[nginx -g daemon off;]"},
		{"{{len .Mounts}} {{len .Config.Labels}} {{len .Name}} {{len .Empty}}", "2 2 4 0"},
		{"{{len \"h\xc3\xa9\"}}", "3"}, /* bytes */
		{"{{.Config.Env | len}}", "3"},
		{"{{len (index .Config.Cmd 2)}}", "11"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

static void range_actions(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{range .Config.Cmd}}{{.}}|{{end}}", "nginx|-g|daemon off;|"},
		{"{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}},{{end}}", "0=nginx,1=-g,2=daemon off;,"},
		{"{{range $e := .Config.Cmd}}<{{$e}}>{{end}}", "<nginx><-g><daemon off;>"},
		/* objects: sorted keys, dot is the value */
		{"{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
		 "com.example.tier=frontend;maintainer=NGINX Docker Maintainers;"},
		{"{{range .Config.Labels}}{{.}};{{end}}", "frontend;NGINX Docker Maintainers;"},
		{"{{range .Empty}}x{{else}}empty{{end}}", "empty"},
		{"{{range .Config.Cmd}}x{{else}}empty{{end}}", "xxx"},
		{"{{range .Matrix}}[{{range .}}{{.}}{{end}}]{{end}}", "[12][3]"},
		{"{{range .Config.Cmd}}{{$.Name}}{{end}}", "/web/web/web"},
		{"{{range .Mounts}}{{if .RW}}{{.Destination}}{{end}}{{end}}", "/etc/nginx/conf.d"},
		{"{{$x := \"out\"}}{{range .Config.Cmd}}{{$x := .}}{{end}}{{$x}}", "out"},
		{"{{$last := \"\"}}{{range .Config.Cmd}}{{$last = .}}{{end}}{{$last}}",
		 "daemon off;"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

static void if_and_with(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{if .State.Running}}yes{{else}}no{{end}}", "yes"},
		{"{{if .State.Paused}}yes{{else}}no{{end}}", "no"},
		{"{{if .State.Paused}}yes{{end}}", ""},
		{"{{if eq .State.Status \"exited\"}}E{{else if .State.Running}}R{{else}}?{{end}}", "R"},
		{"{{if .State.Dead}}D{{else if .State.Paused}}P{{else}}other{{end}}", "other"},
		{"{{if $p := .State.Pid}}pid {{$p}}{{else}}none {{$p}}{{end}}", "pid 4242"},
		{"{{with .State}}{{.Status}}/{{.Pid}}{{end}}", "running/4242"},
		{"{{with .Nope}}x{{else}}none{{end}}", "none"},
		{"{{with $s := .State.Status}}{{$s}}={{.}}{{end}}", "running=running"},
		{"{{with .Nope}}a{{else with .Name}}{{.}}{{end}}", "/web"},
		{"{{if .Empty}}full{{else}}empty{{end}}", "empty"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

/* Go's truth over every kind of JSON value */
static void truthiness(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{"false", "F"}, {"true", "T"},  {"0", "F"},    {"7", "T"},      {"0.0", "F"},
		{"0.5", "T"},   {"''", "F"},    {"'a'", "T"},  {"null", "F"},   {"[]", "F"},
		{"[0]", "T"},   {"{}", "F"},    {"{'a':0}", "T"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = json_object();
		json_object_set_new(doc, "X", doc_from(cases[i].value));
		struct render_case c[] = {
			{"{{if .X}}T{{else}}F{{end}}", cases[i].want},
			{"{{if not .X}}F{{else}}T{{end}}", cases[i].want},
		};
		CHECK_RENDERS(doc, c);
		json_decref(doc);
	}
	static const struct render_case missing[] = {{"{{if .X}}T{{else}}F{{end}}", "F"}};
	CHECK_RENDERS(NULL, missing);
}

static void string_functions(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{upper .Name}} {{lower \"MiXeD 123\"}}", "/WEB mixed 123"},
		{"{{.Name | upper | lower}}", "/web"},
		{"{{upper \"caf\xc3\xa9\"}}", "CAF\xc3\xa9"}, /* ASCII letters only */
		{"{{join .Config.Cmd \", \"}}", "nginx, -g, daemon off;"},
		{"{{join .Empty \",\"}}", ""},
		{"{{split .Config.Image \":\"}}", "[nginx 1.25]"},
		{"{{index (split .Name \"/\") 1}}", "web"},
		{"{{\"/\" | split .Name}}", "[ web]"},
		{"{{split \"h\xc3\xa9!\" \"\"}}", "[h \xc3\xa9 !]"},
		{"{{len (split \"\" \",\")}} {{len (split \"\" \"\")}} {{split \"abc\" \"x\"}}",
		 "1 0 [abc]"},
		{"{{print \"a\" \"b\" 1 2 true}}", "ab1 2 true"},
		{"{{println \"a\" 1}}", "a 1\n"},
		{"{{print}}|{{println}}|", "|\n|"},
		{"{{print .Config.Cmd .State}}",
		 "[nginx -g daemon off;] map[Dead:false Error: ExitCode:0 "
		 "FinishedAt:0001-01-01T00:00:00Z OOMKilled:false Paused:false Pid:4242 "
		 "Restarting:false Running:true StartedAt:2024-05-01T10:00:01.5Z Status:running]"},
		{"{{print println}}", "\n"}, /* a function as an argument is called */
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

static void comparisons_and_logic(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{eq .State.Pid 4242}} {{eq .State.Status \"running\"}} {{eq .State.Running true}}",
		 "true true true"},
		{"{{eq 1 1.0}} {{eq \"a\" \"b\" \"c\" \"a\"}} {{eq \"a\" \"b\"}}", "true true false"},
		{"{{ne 1 2}} {{ne \"a\" \"a\"}}", "true false"},
		{"{{lt 1 2}} {{le 2 2}} {{gt 1.5 1}} {{ge \"b\" \"a\"}} {{lt \"a\" \"ab\"}}",
		 "true true true true true"},
		{"{{lt 2 1}} {{gt \"a\" \"b\"}} {{ge -1 0}}", "false false false"},
		{"{{eq .Nope .Config.Entrypoint}} {{eq .Nope \"x\"}} {{ne .Nope 0}}",
		 "true false true"},
		{"{{.State.Pid | eq 4242}}", "true"},
		{"{{and 1 \"x\"}} {{and 0 \"x\"}} {{and .Name}}", "x 0 /web"},
		{"{{or \"\" 0 \"y\"}} {{or \"\" 0}}", "y 0"},
		{"{{not .State.Running}} {{not .Nope}}", "false true"},
		/* and / or stop early, so a guard protects what follows it */
		{"{{if and .Empty (index .Empty 0)}}x{{else}}safe{{end}}", "safe"},
		{"{{or .Name (index .Empty 0)}}", "/web"},
		{"{{if and .State.Running (not .State.Paused)}}up{{end}}", "up"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);
}

static void variables_and_pipelines(void **state)
{
	(void)state;
	static const struct render_case cases[] = {
		{"{{$n := .Name}}[{{$n}}]", "[/web]"},
		{"{{$x := 1}}{{$x = 2}}{{$x}}", "2"},
		{"{{$x := \"a\"}}{{if true}}{{$x = \"b\"}}{{end}}{{$x}}", "b"},
		{"{{$x := \"a\"}}{{if true}}{{$x := \"b\"}}{{end}}{{$x}}", "a"},
		{"{{$s := .State}}{{$s.Status}} {{$.State.Pid}}", "running 4242"},
		{"{{.Config.Cmd | len}} {{(len .Config.Env)}}", "3 3"},
		{"{{(index .Mounts 1).Source}}", "/srv/conf"},
		{"{{with $m := index .Mounts 0}}{{$m.Type}}:{{.RW}}{{end}}", "bind:false"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_RENDERS(doc, cases);
	json_decref(doc);

	json_t *small = doc_from("{'a': 1}");
	static const struct render_case root[] = {{"{{$}} {{$.a}}", "map[a:1] 1"}};
	CHECK_RENDERS(small, root);
	json_decref(small);
}

/* ---- errors */

static void syntax_errors(void **state)
{
	(void)state;
	static const struct error_case cases[] = {
		{"Name: {{.Name", "template: unclosed action at column 7"},
		{"{{if .X}}{{end", "template: unclosed action at column 10"},
		{"line 1\n  {{.Name\n", "template: unclosed action at line 2, column 3"},
		{"h\xc3\xa9llo {{.Name", "template: unclosed action at column 7"},
		{"{{foo}}",
		 "template: unknown function \"foo\" at column 3; known functions: and eq ge gt "
		 "index join json le len lower lt ne not or print println split upper"},
		{"{{.Name | printf \"%s\"}}",
		 "template: unknown function \"printf\" at column 11; known functions: and eq ge gt "
		 "index join json le len lower lt ne not or print println split upper"},
		{"{{if .X}}a", "template: missing {{end}} for {{if}} at column 3"},
		{"{{range .X}}a{{else}}b", "template: missing {{end}} for {{range}} at column 3"},
		{"{{with .X}}{{if .Y}}{{end}}", "template: missing {{end}} for {{with}} at column 3"},
		{"a{{end}}", "template: unexpected {{end}} at column 4"},
		{"{{else}}", "template: unexpected {{else}} at column 3"},
		{"x {{else if .A}}", "template: unexpected {{else}} at column 5"},
		{"{{if 1}}{{else}}{{else if 2}}{{end}}",
		 "template: unexpected {{else}} after {{else}} at column 19"},
		{"{{if 1}}{{else}}{{else}}{{end}}",
		 "template: unexpected {{else}} after {{else}} at column 19"},
		{"{{range .X}}{{else if 1}}{{end}}",
		 "template: {{else if}} inside {{range}} at column 20; only {{if}} takes "
		 "{{else if}}, and {{with}} {{else with}}"},
		{"{{end 1}}", "template: unexpected \"1\" in {{end}} at column 7"},
		{"{{}}", "template: empty action at column 1"},
		{"a {{ }}", "template: empty action at column 3"},
		{"{{if}}{{end}}", "template: missing value for if at column 5"},
		{"{{.Name |}}", "template: missing command after \"|\" at column 10"},
		{"{{len}}", "template: wrong number of arguments for len: want 1, got 0 at column 3"},
		{"{{.Name | len 1}}",
		 "template: wrong number of arguments for len: want 1, got 2 at column 11"},
		{"{{eq 1}}",
		 "template: wrong number of arguments for eq: want at least 2, got 1 at column 3"},
		{"{{print and}}",
		 "template: wrong number of arguments for and: want at least 1, got 0 at column 9"},
		{"{{.Name \"x\"}}", "template: can't give argument to non-function .Name at column 9"},
		{"{{.A | .B}}", "template: can't give argument to non-function .B at column 8"},
		{"{{(.A\n\t) 1}}",
		 "template: can't give argument to non-function (.A\\n\\t) at line 2, column 4"},
		{"{{nil}}", "template: nil is not a command at column 3"},
		{"{{$x}}", "template: undefined variable \"$x\" at column 3"},
		{"{{$x = 1}}", "template: undefined variable \"$x\" at column 3"},
		{"{{range .A}}{{$y := 1}}{{end}}{{$y}}",
		 "template: undefined variable \"$y\" at column 33"},
		{"{{range $e := .A}}{{end}}{{$e}}", "template: undefined variable \"$e\" at column 28"},
		{"{{if true}}{{$z := 1}}{{else}}{{$z}}{{end}}",
		 "template: undefined variable \"$z\" at column 33"},
		{"{{if $a, $b := .X}}{{end}}", "template: too many declarations in if at column 8"},
		{"{{range $a, $b, $c := .X}}{{end}}",
		 "template: range can only declare $index, $element := or = at column 13"},
		{"{{($x := 1)}}",
		 "template: variables cannot be declared inside parentheses at column 4"},
		{"{{\"abc}}", "template: unterminated quoted string at column 3"},
		{"{{\"a\nb\"}}", "template: unterminated quoted string at column 3"},
		{"{{`abc}}", "template: unterminated raw quoted string at column 3"},
		{"{{.Name}", "template: unexpected \"}\" at column 8; an action ends with \"}}\""},
		{"{{(.Name}}", "template: unclosed left parenthesis at column 3"},
		{"{{.Name)}}", "template: unexpected \")\" at column 8"},
		{"{{.X &}}", "template: unexpected \"&\" in action at column 6"},
		{"{{\"a\".X}}", "template: missing space before \".X\" at column 6"},
		{"{{define \"x\"}}{{end}}", "template: {{define}} is not supported at column 3"},
		{"{{template \"x\"}}", "template: {{template}} is not supported at column 3"},
		{"{{/* x", "template: unclosed comment at column 1"},
		{"{{/* x */ .Name}}", "template: comment ends before closing delimiter at column 10"},
		{"{{1.2.3}}", "template: bad number syntax: \"1.2.3\" at column 3"},
		{"{{09}}", "template: bad number syntax: \"09\" at column 3"},
		{"{{99999999999999999999}}",
		 "template: number out of range: \"99999999999999999999\" at column 3"},
		{"{{\"\\q\"}}", "template: unknown escape sequence \"\\q\" in string at column 4"},
		{"{{\"\\ud800\"}}",
		 "template: escape sequence is an invalid Unicode code point at column 4"},
		{"{{'a'}}", "template: character constants are not supported at column 3; use a string"},
		{"{{if .X}}{{.Y}", "template: unexpected \"}\" at column 14; an action ends with \"}}\""},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_ERRORS(doc, cases);
	json_decref(doc);
}

/* Errors found while rendering; what rendered before them is dropped too. */
static void evaluation_errors(void **state)
{
	(void)state;
	static const struct error_case cases[] = {
		{"ok {{.Name}} {{.Name.First}}",
		 "template: can't evaluate field First in type string at column 21"},
		{"{{.State.Pid.X}}", "template: can't evaluate field X in type number at column 13"},
		{"{{.Config.Entrypoint.X}}",
		 "template: can't evaluate field X in type null at column 21"},
		{"{{range .Config.Env}}{{.}}{{.X}}{{end}}",
		 "template: can't evaluate field X in type string at column 29"},
		{"{{len .State.Pid}}",
		 "template: len: expected an array, object or string, got number at column 3"},
		{"{{len .Nope}}",
		 "template: len: expected an array, object or string, got <no value> at column 3"},
		{"{{index .Config.Env 99}}", "template: index: index out of range: 99 at column 3"},
		{"{{index .Config.Env -1}}", "template: index: index out of range: -1 at column 3"},
		{"{{index .Name 4}}", "template: index: index out of range: 4 at column 3"},
		{"{{index .Config.Env \"x\"}}",
		 "template: index: a position must be an integer, got string at column 3"},
		{"{{index .Config.Labels 1}}",
		 "template: index: an object's key must be a string, got number at column 3"},
		{"{{index .State.Pid 0}}", "template: index: can't index number at column 3"},
		{"{{index .Nope 0}}", "template: index: can't index <no value> at column 3"},
		{"{{index .Config.Labels \"nope\" \"x\"}}",
		 "template: index: can't index <no value> at column 3"},
		{"{{range .State.Pid}}{{end}}", "template: range can't iterate over 4242 at column 3"},
		{"{{range .Name}}{{end}}", "template: range can't iterate over /web at column 3"},
		/* still one line when what it quotes is not */
		{"{{range println .Name}}{{end}}",
		 "template: range can't iterate over /web\\n at column 3"},
		{"{{upper .State.Pid}}",
		 "template: upper: the argument must be a string, got number at column 3"},
		{"{{lower .Nope}}",
		 "template: lower: the argument must be a string, got <no value> at column 3"},
		{"{{join .Name \",\"}}",
		 "template: join: expected an array of strings, got string at column 3"},
		{"{{join .Mounts \",\"}}",
		 "template: join: element 0 is object, not a string at column 3"},
		{"{{join .Config.Cmd 1}}",
		 "template: join: the separator must be a string, got number at column 3"},
		{"{{split .Name 1}}",
		 "template: split: the separator must be a string, got number at column 3"},
		{"{{lt true false}}", "template: lt: can't order bool at column 3"},
		{"{{gt .Nope 1}}", "template: gt: can't order <no value> at column 3"},
		{"{{eq .Config .Config}}", "template: eq: can't compare object at column 3"},
		{"{{eq 1 \"1\"}}",
		 "template: eq: incompatible types for comparison: number and string at column 3"},
		{"{{if 1}}\n{{.Name | upper | len | upper}}{{end}}",
		 "template: upper: the argument must be a string, got number at line 2, column 25"},
	};
	json_t *doc = doc_from(docker_json);
	CHECK_ERRORS(doc, cases);
	json_decref(doc);
}

/* {{((...(1)...))}} with `depth` parentheses */
static void parens(char *buf, int depth)
{
	size_t n = (size_t)sprintf(buf, "{{");
	for (int i = 0; i < depth; i++)
		buf[n++] = '(';
	buf[n++] = '1';
	for (int i = 0; i < depth; i++)
		buf[n++] = ')';
	strcpy(buf + n, "}}");
}

static void nesting_limits(void **state)
{
	(void)state;
	char tmpl[2048];
	struct rl_error err = {0};
	char *out = NULL;

	parens(tmpl, 100);
	assert_int_equal(rl_template_render(tmpl, NULL, &out, &err), 0);
	assert_string_equal(out, "1");
	free(out);
	parens(tmpl, 101);
	assert_int_equal(rl_template_render(tmpl, NULL, &out, &err), -EINVAL);
	assert_null(out);
	assert_string_equal(err.msg, "template: template nested too deeply at column 103");

	size_t n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(tmpl + n, "{{if 1}}");
	n += (size_t)sprintf(tmpl + n, "x");
	for (int i = 0; i < 100; i++)
		n += (size_t)sprintf(tmpl + n, "{{end}}");
	assert_int_equal(rl_template_render(tmpl, NULL, &out, &err), 0);
	assert_string_equal(out, "x");
	free(out);
	n = 0;
	for (int i = 0; i < 101; i++)
		n += (size_t)sprintf(tmpl + n, "{{if 1}}");
	assert_int_equal(rl_template_render(tmpl, NULL, &out, &err), -EINVAL);
	assert_string_equal(err.msg, "template: template nested too deeply at column 803");

	/* a value nested deeper than jansson reads one */
	json_t *deep = json_array();
	for (int i = 0; i < 3000; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, deep);
		deep = outer;
	}
	assert_int_equal(rl_template_render("{{.}}", deep, &out, &err), -EINVAL);
	assert_string_equal(err.msg, "template: value nested too deeply to print at column 1");
	assert_int_equal(rl_template_render("{{json .}}", deep, &out, &err), -EINVAL);
	assert_int_equal(rl_template_render("{{len .}}", deep, &out, &err), 0);
	assert_string_equal(out, "1");
	free(out);
	json_decref(deep);
}

/* Output grows past any first guess; the document is left as it was. */
static void large_output_and_doc_untouched(void **state)
{
	(void)state;
	json_t *doc = json_object(), *items = json_array();
	for (int i = 0; i < 20000; i++)
		json_array_append_new(items, json_integer(i));
	json_object_set_new(doc, "Items", items);
	char *before = json_dumps(doc, JSON_COMPACT);
	size_t refs = doc->refcount, item_refs = items->refcount;

	char *out = NULL;
	struct rl_error err = {0};
	assert_int_equal(
		rl_template_render("{{range $i, $v := .Items}}{{$v}},{{end}}{{len .Items}}", doc,
				   &out, &err),
		0);
	size_t len = strlen(out);
	assert_true(len > 100000);
	assert_string_equal(out + len - 11, "19999,20000");
	assert_memory_equal(out, "0,1,2,", 6);
	free(out);

	/* a failure half-way leaves no reference behind either */
	assert_int_equal(rl_template_render("{{range .Items}}{{.}}{{end}}{{.Items.X}}", doc, &out,
					    &err),
			 -EINVAL);
	char *after = json_dumps(doc, JSON_COMPACT);
	assert_string_equal(before, after);
	assert_int_equal(doc->refcount, refs);
	assert_int_equal(items->refcount, item_refs);
	free(before);
	free(after);
	json_decref(doc);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct rl_error err = {0};
	char *out = (char *)"sentinel";
	assert_int_equal(rl_template_render(NULL, NULL, &out, &err), -EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "template"));
	assert_int_equal(rl_template_render("x", NULL, NULL, &err), -EINVAL);
	/* no error record: the code alone */
	assert_int_equal(rl_template_render("{{foo}}", NULL, &out, NULL), -EINVAL);
	json_t *doc = doc_from("{'A': 1}");
	assert_int_equal(rl_template_render("{{.A.B}}", doc, &out, NULL), -EINVAL);
	assert_null(out);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_templates),
		cmocka_unit_test(text_fields_and_spacing),
		cmocka_unit_test(trim_markers_and_comments),
		cmocka_unit_test(missing_and_null),
		cmocka_unit_test(value_printing),
		cmocka_unit_test(json_function),
		cmocka_unit_test(index_and_len),
		cmocka_unit_test(range_actions),
		cmocka_unit_test(if_and_with),
		cmocka_unit_test(truthiness),
		cmocka_unit_test(string_functions),
		cmocka_unit_test(comparisons_and_logic),
		cmocka_unit_test(variables_and_pipelines),
		cmocka_unit_test(syntax_errors),
		cmocka_unit_test(evaluation_errors),
		cmocka_unit_test(nesting_limits),
		cmocka_unit_test(large_output_and_doc_untouched),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
