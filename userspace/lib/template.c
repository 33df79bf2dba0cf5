/* Go text/template for `rlbpf inspect -f`: a recursive-descent parser into a
 * small tree (held in one arena), checked whole before anything renders,
 * then a walk of the tree over the jansson document. Values are json_t
 * references; NULL stands for Go's "no value" (a missing map key). */
#include "lib/template.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

enum {
	MAX_NESTING = 100,      /* control structures and parentheses inside each other */
	MAX_VALUE_DEPTH = 2048, /* arrays and objects inside each other, as jansson reads */
	MAX_QUOTE = 40,         /* bytes of template text quoted in a message */
};

/* The length to quote of a piece of template text: at most MAX_QUOTE. */
#define QLEN(len) ((int)((len) < MAX_QUOTE ? (len) : MAX_QUOTE))

/* ---- growable output */

struct buf {
	char *data;
	size_t len, cap;
	bool oom; /* sticky: checked once, where the text is handed on */
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->cap - b->len <= n) { /* keep room for the NUL */
		size_t cap = b->cap ? b->cap : 64;
		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		char *d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_ch(struct buf *b, char c) { buf_add(b, &c, 1); }

static void buf_int(struct buf *b, json_int_t i)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, i);
	buf_add(b, tmp, (size_t)n);
}

/* ---- the arena that holds the parsed tree */

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	struct chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = n > 4096 ? n : 4096;
		c = calloc(1, sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p; /* zeroed: calloc */
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

/* ---- errors: "template: WHAT at column N[; HINT]" */

static int vfail_at(struct rl_error *err, const char *src, size_t pos, const char *hint,
		    const char *fmt, va_list ap)
{
	char raw[400], what[400];
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* one line, whatever text or value it quotes */
	size_t k = 0;
	for (const char *c = raw; *c && k + 3 < sizeof(what); c++) {
		if (*c == '\n' || *c == '\t' || *c == '\r') {
			what[k++] = '\\';
			what[k++] = *c == '\n' ? 'n' : *c == '\t' ? 't' : 'r';
		} else {
			what[k++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
		}
	}
	what[k] = '\0';
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < pos && src[i]; i++) {
		if (src[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)src[i] & 0xC0) != 0x80) { /* count characters */
			col++;
		}
	}
	char where[48] = "";
	if (line > 1)
		snprintf(where, sizeof(where), "line %u, ", line);
	return rl_fail(err, EINVAL, "template: %s at %scolumn %u%s%s", what, where, col,
		       hint ? "; " : "", hint ? hint : "");
}

static int nomem(struct rl_error *err)
{
	return rl_fail(err, ENOMEM, "template: out of memory");
}

/* ---- the tree */

struct field {
	const char *name; /* into the template, without the dot */
	size_t len, pos;
	struct field *next;
};

struct func;
struct pipe;

enum term_kind {
	TERM_DOT,  /* . or .A.B: dot and the fields after it */
	TERM_VAR,  /* $ or $x, and fields */
	TERM_PIPE, /* (pipeline), and fields */
	TERM_STRING,
	TERM_INT,
	TERM_REAL,
	TERM_BOOL,
	TERM_NIL,
	TERM_CALL, /* a function named as an argument: called with none */
};

struct term {
	enum term_kind kind;
	size_t pos, end; /* its text in the template */
	union {
		struct {
			const char *name; /* with the $ */
			size_t len;
		} var;
		struct pipe *pipe;
		struct {
			char *s;
			size_t len;
		} str;
		json_int_t i;
		double d;
		bool b;
		const struct func *fn;
	};
	struct field *fields;
	struct term *next;
};

struct cmd {
	size_t pos;
	const struct func *fn; /* NULL: a value, the one term in args */
	struct term *args;
	size_t nargs;
	struct cmd *next;
};

struct decl {
	const char *name;
	size_t len, pos;
};

struct pipe {
	size_t pos;
	struct decl decl[2];
	int ndecl;
	bool assign; /* = rather than := */
	struct cmd *cmds;
};

enum node_kind { NODE_TEXT, NODE_ACTION, NODE_IF, NODE_WITH, NODE_RANGE };

struct node {
	enum node_kind kind;
	size_t pos;
	const char *text; /* NODE_TEXT, into the template */
	size_t len;
	struct pipe *pipe;
	struct node *list, *else_list;
	struct node *next;
};

/* ---- functions (the table is after their definitions) */

struct exec;
typedef int (*func_call)(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out);

enum lazy { EAGER, LAZY_AND, LAZY_OR };

struct func {
	const char *name;
	int min, max; /* arguments, the piped value included; max -1: any */
	func_call call;
	enum lazy lazy; /* and/or evaluate their arguments only as far as needed */
};

static const struct func *find_func(const char *name, size_t len);
static void list_funcs(char *out, size_t size);

/* ---- lexer */

enum tok {
	TK_CLOSE,
	TK_DOT,
	TK_FIELD,
	TK_VAR,
	TK_IDENT,
	TK_STRING,
	TK_RAW_STRING,
	TK_NUMBER,
	TK_LPAREN,
	TK_RPAREN,
	TK_PIPE,
	TK_DECLARE,
	TK_ASSIGN,
	TK_COMMA,
};

struct token {
	enum tok kind;
	size_t pos, len;
	bool spaced; /* whitespace before it */
};

struct pvar {
	const char *name;
	size_t len;
	struct pvar *up;
};

struct parser {
	const char *src;
	size_t len, pos;
	size_t action_pos; /* the {{ of the action being read */
	bool trim_next;    /* the last action ended with -}} */
	int depth;
	struct pvar *vars; /* in scope, innermost first */
	struct arena *arena;
	struct rl_error *err;
};

static int fail_hint(struct parser *p, size_t pos, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_hint(struct parser *p, size_t pos, const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail_at(p->err, p->src, pos, hint, fmt, ap);
	va_end(ap);
	return r;
}
#define fail(p, pos, ...) fail_hint((p), (pos), NULL, __VA_ARGS__)

static void *new(struct parser *p, size_t size) { return arena_alloc(p->arena, size); }
#define NEW(p, type) ((type *)new ((p), sizeof(type)))

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (unsigned char)c >= 0x80;
}
static bool is_ident(char c) { return is_ident_start(c) || is_digit(c); }

static bool text_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Reads the next token inside an action; p->pos moves past it. */
static int lex(struct parser *p, struct token *t)
{
	const char *s = p->src;
	size_t n = p->len, i = p->pos;
	bool spaced = false;
	while (i < n && is_space(s[i])) {
		i++;
		spaced = true;
	}
	*t = (struct token){.pos = i, .len = 1, .spaced = spaced};
	if (i >= n)
		return fail(p, p->action_pos, "unclosed action");
	char c = s[i];
	size_t j = i + 1;
	if (c == '}' && j < n && s[j] == '}') {
		t->kind = TK_CLOSE;
		j++;
		p->trim_next = false;
	} else if (c == '-' && spaced && n - j >= 2 && s[j] == '}' && s[j + 1] == '}') {
		t->kind = TK_CLOSE;
		j += 2;
		p->trim_next = true;
	} else if (c == '}') {
		return fail_hint(p, i, "an action ends with \"}}\"", "unexpected \"}\"");
	} else if (c == '(') {
		t->kind = TK_LPAREN;
	} else if (c == ')') {
		t->kind = TK_RPAREN;
	} else if (c == '|') {
		t->kind = TK_PIPE;
	} else if (c == ',') {
		t->kind = TK_COMMA;
	} else if (c == ':' && j < n && s[j] == '=') {
		t->kind = TK_DECLARE;
		j++;
	} else if (c == '=') {
		t->kind = TK_ASSIGN;
	} else if (c == '.' && !(j < n && is_digit(s[j]))) {
		while (j < n && is_ident(s[j]))
			j++;
		t->kind = j > i + 1 ? TK_FIELD : TK_DOT;
	} else if (c == '$') {
		while (j < n && is_ident(s[j]))
			j++;
		t->kind = TK_VAR;
	} else if (c == '"') {
		for (;;) {
			if (j >= n || s[j] == '\n')
				return fail(p, i, "unterminated quoted string");
			if (s[j] == '"')
				break;
			if (s[j] == '\\' && (++j >= n || s[j] == '\n'))
				return fail(p, i, "unterminated quoted string");
			j++;
		}
		j++;
		t->kind = TK_STRING;
	} else if (c == '`') {
		const char *end = memchr(s + j, '`', n - j);
		if (!end)
			return fail(p, i, "unterminated raw quoted string");
		j = (size_t)(end - s) + 1;
		t->kind = TK_RAW_STRING;
	} else if (is_digit(c) || c == '.' ||
		   ((c == '-' || c == '+') && j < n &&
		    (is_digit(s[j]) || (s[j] == '.' && j + 1 < n && is_digit(s[j + 1]))))) {
		while (j < n) {
			char d = s[j], prev = s[j - 1];
			if (is_ident(d) || d == '.' ||
			    ((d == '+' || d == '-') &&
			     (prev == 'e' || prev == 'E' || prev == 'p' || prev == 'P')))
				j++;
			else
				break;
		}
		t->kind = TK_NUMBER;
	} else if (is_ident_start(c)) {
		while (j < n && is_ident(s[j]))
			j++;
		t->kind = TK_IDENT;
	} else if (c == '\'') {
		return fail_hint(p, i, "use a string", "character constants are not supported");
	} else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f) {
		return fail(p, i, "unexpected \"%c\" in action", c);
	} else {
		return fail(p, i, "unexpected byte 0x%02x in action", (unsigned char)c);
	}
	t->len = j - i;
	p->pos = j;
	return 0;
}

/* ---- parser */

static int parse_pipe(struct parser *p, int ctx, size_t open_pos, struct pipe **out);

enum pipe_ctx { CTX_ACTION, CTX_PAREN, CTX_IF, CTX_WITH, CTX_RANGE };

static const char *const ctx_names[] = {"action", "parenthesized pipeline", "if", "with",
					"range"};

static const char *const keywords[] = {"if",       "else",  "end",   "range",    "with",
				       "define",   "block", "break", "continue", "template"};

static bool is_keyword(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (text_is(s, len, keywords[i]))
			return true;
	return false;
}

static struct pvar *find_pvar(struct parser *p, const char *name, size_t len)
{
	for (struct pvar *v = p->vars; v; v = v->up)
		if (v->len == len && memcmp(v->name, name, len) == 0)
			return v;
	return NULL;
}

static int push_pvar(struct parser *p, const char *name, size_t len)
{
	struct pvar *v = NEW(p, struct pvar);
	if (!v)
		return nomem(p->err);
	*v = (struct pvar){.name = name, .len = len, .up = p->vars};
	p->vars = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A Go string literal: `raw` as is, "interpreted" with Go's escapes. */
static int unquote(struct parser *p, const struct token *t, struct term *term)
{
	const char *s = p->src + t->pos + 1;
	size_t n = t->len - 2, k = 0;
	char *out = new(p, n + 1);
	if (!out)
		return nomem(p->err);
	term->kind = TERM_STRING;
	term->str.s = out;
	if (t->kind == TK_RAW_STRING) {
		memcpy(out, s, n);
		term->str.len = n;
		return 0;
	}
	for (size_t i = 0; i < n;) {
		if (s[i] != '\\') {
			out[k++] = s[i++];
			continue;
		}
		size_t at = t->pos + 1 + i;
		char e = s[++i];
		i++;
		const char *simple = strchr("abfnrtv\\\"", e);
		if (e && simple) {
			out[k++] = "\a\b\f\n\r\t\v\\\""[simple - "abfnrtv\\\""];
			continue;
		}
		int digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
		uint32_t v = 0;
		if (e >= '0' && e <= '7') { /* \NNN, three octal digits */
			v = (uint32_t)(e - '0');
			for (int d = 0; d < 2; d++, i++) {
				if (i >= n || s[i] < '0' || s[i] > '7')
					return fail(p, at, "invalid octal escape in string");
				v = v * 8 + (uint32_t)(s[i] - '0');
			}
			if (v > 255)
				return fail(p, at, "octal escape value > 255 in string");
			out[k++] = (char)v;
			continue;
		}
		if (!digits)
			return fail(p, at, "unknown escape sequence \"\\%c\" in string", e ? e : '?');
		for (int d = 0; d < digits; d++, i++) {
			int h = i < n ? hexval(s[i]) : -1;
			if (h < 0)
				return fail(p, at, "invalid \\%c escape in string", e);
			v = v << 4 | (uint32_t)h;
		}
		if (e == 'x') {
			out[k++] = (char)v;
		} else if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
			return fail(p, at, "escape sequence is an invalid Unicode code point");
		} else {
			k += utf8_put(out + k, v); /* never longer than the escape */
		}
	}
	term->str.len = k;
	return 0;
}

/* Go number syntax: decimal, 0x, 0o, 0b, 0NNN octal, _ separators, floats. */
static int parse_number(struct parser *p, const struct token *t, struct term *term)
{
	const char *src = p->src + t->pos;
	char tmp[72];
	size_t k = 0;
	if (t->len >= sizeof(tmp))
		return fail(p, t->pos, "bad number syntax: \"%.*s\"", MAX_QUOTE, src);
	for (size_t i = 0; i < t->len; i++)
		if (src[i] != '_')
			tmp[k++] = src[i];
	tmp[k] = '\0';
	const char *q = tmp;
	bool neg = false;
	if (*q == '+' || *q == '-')
		neg = *q++ == '-';
	bool hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
	char *end;
	errno = 0;
	if (strpbrk(q, hex ? ".pP" : ".eEpP")) {
		term->kind = TERM_REAL;
		term->d = strtod(tmp, &end);
		if (*end || !*q)
			return fail(p, t->pos, "bad number syntax: \"%.*s\"", (int)t->len, src);
		if (errno == ERANGE && isinf(term->d))
			return fail(p, t->pos, "number out of range: \"%.*s\"", (int)t->len, src);
		return 0;
	}
	int base = 10;
	if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
		base = 16, q += 2;
	else if (q[0] == '0' && (q[1] == 'o' || q[1] == 'O'))
		base = 8, q += 2;
	else if (q[0] == '0' && (q[1] == 'b' || q[1] == 'B'))
		base = 2, q += 2;
	else if (q[0] == '0' && q[1])
		base = 8, q += 1;
	if (hexval(*q) < 0 || hexval(*q) >= base)
		return fail(p, t->pos, "bad number syntax: \"%.*s\"", (int)t->len, src);
	unsigned long long u = strtoull(q, &end, base);
	if (*end)
		return fail(p, t->pos, "bad number syntax: \"%.*s\"", (int)t->len, src);
	if (errno == ERANGE || u > (unsigned long long)LLONG_MAX + neg)
		return fail(p, t->pos, "number out of range: \"%.*s\"", (int)t->len, src);
	term->kind = TERM_INT;
	term->i = neg ? (json_int_t)(0 - u) : (json_int_t)u;
	return 0;
}

static int parse_fields(struct parser *p, struct term *term, struct field ***tail)
{
	for (;;) {
		size_t save = p->pos;
		struct token t;
		bool trim = p->trim_next;
		int r = lex(p, &t);
		if (r < 0)
			return r;
		if (t.kind != TK_FIELD || t.spaced) {
			p->pos = save;
			p->trim_next = trim;
			return 0;
		}
		struct field *f = NEW(p, struct field);
		if (!f)
			return nomem(p->err);
		*f = (struct field){.name = p->src + t.pos + 1, .len = t.len - 1, .pos = t.pos};
		**tail = f;
		*tail = &f->next;
		term->end = p->pos;
	}
}

/* One argument: a term and the fields chained to it. t is already read. */
static int parse_operand(struct parser *p, const struct token *t, struct term **out)
{
	struct term *term = NEW(p, struct term);
	if (!term)
		return nomem(p->err);
	term->pos = t->pos;
	struct field **tail = &term->fields;
	const char *text = p->src + t->pos;
	bool chain = false;
	int r = 0;
	switch (t->kind) {
	case TK_DOT:
		term->kind = TERM_DOT;
		break;
	case TK_FIELD: {
		term->kind = TERM_DOT;
		struct field *f = NEW(p, struct field);
		if (!f)
			return nomem(p->err);
		*f = (struct field){.name = text + 1, .len = t->len - 1, .pos = t->pos};
		*tail = f;
		tail = &f->next;
		chain = true;
		break;
	}
	case TK_VAR:
		if (!find_pvar(p, text, t->len))
			return fail(p, t->pos, "undefined variable \"%.*s\"", QLEN(t->len),
				    text);
		term->kind = TERM_VAR;
		term->var.name = text;
		term->var.len = t->len;
		chain = true;
		break;
	case TK_LPAREN:
		if (++p->depth > MAX_NESTING)
			return fail(p, t->pos, "template nested too deeply");
		term->kind = TERM_PIPE;
		r = parse_pipe(p, CTX_PAREN, t->pos, &term->pipe);
		p->depth--;
		chain = true;
		break;
	case TK_STRING:
	case TK_RAW_STRING:
		r = unquote(p, t, term);
		break;
	case TK_NUMBER:
		r = parse_number(p, t, term);
		break;
	case TK_IDENT:
		if (text_is(text, t->len, "true") || text_is(text, t->len, "false")) {
			term->kind = TERM_BOOL;
			term->b = text[0] == 't';
		} else if (text_is(text, t->len, "nil")) {
			term->kind = TERM_NIL;
		} else if (is_keyword(text, t->len)) {
			return fail(p, t->pos, "unexpected keyword \"%.*s\"", (int)t->len, text);
		} else {
			term->kind = TERM_CALL;
			term->fn = find_func(text, t->len);
			if (!term->fn) {
				char known[256] = "known functions: ";
				size_t k = strlen(known);
				list_funcs(known + k, sizeof(known) - k);
				return fail_hint(p, t->pos, known, "unknown function \"%.*s\"",
						 QLEN(t->len), text);
			}
		}
		break;
	default:
		return fail(p, t->pos, "unexpected \"%.*s\" in operand", (int)t->len, text);
	}
	if (r < 0)
		return r;
	term->end = t->kind == TK_LPAREN ? p->pos : t->pos + t->len;
	if (chain && (r = parse_fields(p, term, &tail)) < 0)
		return r;
	*out = term;
	return 0;
}

static int check_arity(struct parser *p, const struct cmd *c, size_t argc)
{
	const struct func *fn = c->fn;
	if ((int)argc >= fn->min && (fn->max < 0 || (int)argc <= fn->max))
		return 0;
	if (fn->max < 0)
		return fail(p, c->pos, "wrong number of arguments for %s: want at least %d, got %zu",
			    fn->name, fn->min, argc);
	return fail(p, c->pos, "wrong number of arguments for %s: want %d, got %zu", fn->name,
		    fn->max, argc);
}

/* Operands up to |, ) or }}, which is left in *end. */
static int parse_cmd(struct parser *p, int ctx, bool piped, struct cmd **out,
		     struct token *end)
{
	struct cmd *c = NEW(p, struct cmd);
	if (!c)
		return nomem(p->err);
	struct term **tail = &c->args;
	for (bool first = true;; first = false) {
		struct token t;
		int r = lex(p, &t);
		if (r < 0)
			return r;
		if (t.kind == TK_CLOSE || t.kind == TK_PIPE || t.kind == TK_RPAREN) {
			if (first && piped)
				return fail(p, t.pos, "missing command after \"|\"");
			if (first)
				return fail(p, t.pos, "missing value for %s", ctx_names[ctx]);
			*end = t;
			break;
		}
		if (!first && !t.spaced)
			return fail(p, t.pos, "missing space before \"%.*s\"", QLEN(t.len),
				    p->src + t.pos);
		struct term *term = NULL;
		if ((r = parse_operand(p, &t, &term)) < 0)
			return r;
		if (first && term->kind == TERM_CALL) {
			c->pos = term->pos;
			c->fn = term->fn; /* the command's function; the term is dropped */
			continue;
		}
		if (first) {
			c->pos = term->pos;
		} else if (!c->fn) {
			struct term *v = c->args;
			return fail(p, t.pos, "can't give argument to non-function %.*s",
				    QLEN(v->end - v->pos), p->src + v->pos);
		}
		if (term->kind == TERM_CALL) {
			struct cmd call = {.pos = term->pos, .fn = term->fn};
			if ((r = check_arity(p, &call, 0)) < 0)
				return r;
		}
		*tail = term;
		tail = &term->next;
		c->nargs++;
	}
	if (!c->fn && c->args->kind == TERM_NIL)
		return fail(p, c->pos, "nil is not a command");
	if (!c->fn && piped)
		return fail(p, c->pos, "can't give argument to non-function %.*s",
			    QLEN(c->args->end - c->args->pos), p->src + c->args->pos);
	if (c->fn) {
		int r = check_arity(p, c, c->nargs + piped);
		if (r < 0)
			return r;
	}
	*out = c;
	return 0;
}

/* [decl] command { | command }, up to }} (or to ) inside parentheses). */
static int parse_pipe(struct parser *p, int ctx, size_t open_pos, struct pipe **out)
{
	struct pipe *pipe = NEW(p, struct pipe);
	if (!pipe)
		return nomem(p->err);
	size_t save = p->pos;
	struct token t;
	int r = lex(p, &t);
	if (r < 0)
		return r;
	pipe->pos = t.pos;
	if (t.kind == TK_VAR) {
		struct token t2;
		if ((r = lex(p, &t2)) < 0)
			return r;
		if (t2.kind == TK_COMMA || t2.kind == TK_DECLARE || t2.kind == TK_ASSIGN) {
			if (ctx == CTX_PAREN)
				return fail(p, t.pos, "variables cannot be declared inside parentheses");
			pipe->decl[0] = (struct decl){p->src + t.pos, t.len, t.pos};
			pipe->ndecl = 1;
			if (t2.kind == TK_COMMA) {
				if (ctx != CTX_RANGE)
					return fail(p, t2.pos, "too many declarations in %s",
						    ctx_names[ctx]);
				struct token t3;
				if ((r = lex(p, &t3)) < 0 || (r = lex(p, &t2)) < 0)
					return r;
				if (t3.kind != TK_VAR ||
				    (t2.kind != TK_DECLARE && t2.kind != TK_ASSIGN))
					return fail(p, t3.pos,
						    "range can only declare $index, $element := or =");
				pipe->decl[1] = (struct decl){p->src + t3.pos, t3.len, t3.pos};
				pipe->ndecl = 2;
			}
			pipe->assign = t2.kind == TK_ASSIGN;
			for (int i = 0; pipe->assign && i < pipe->ndecl; i++)
				if (!find_pvar(p, pipe->decl[i].name, pipe->decl[i].len))
					return fail(p, pipe->decl[i].pos,
						    "undefined variable \"%.*s\"",
						    QLEN(pipe->decl[i].len), pipe->decl[i].name);
		} else {
			p->pos = save;
		}
	} else {
		p->pos = save;
	}
	struct cmd **tail = &pipe->cmds;
	for (bool piped = false;; piped = true) {
		struct cmd *c = NULL;
		struct token end = {0};
		if ((r = parse_cmd(p, ctx, piped, &c, &end)) < 0)
			return r;
		*tail = c;
		tail = &c->next;
		if (end.kind == TK_PIPE)
			continue;
		if (end.kind == TK_RPAREN && ctx != CTX_PAREN)
			return fail(p, end.pos, "unexpected \")\"");
		if (end.kind == TK_CLOSE && ctx == CTX_PAREN)
			return fail(p, open_pos, "unclosed left parenthesis");
		break;
	}
	/* := takes effect after the pipeline that gives the value */
	for (int i = 0; !pipe->assign && i < pipe->ndecl; i++)
		if ((r = push_pvar(p, pipe->decl[i].name, pipe->decl[i].len)) < 0)
			return r;
	*out = pipe;
	return 0;
}

enum stop_kind { STOP_NONE, STOP_EOF, STOP_END, STOP_ELSE, STOP_ELSE_IF, STOP_ELSE_WITH };

struct stop {
	enum stop_kind kind;
	size_t pos;      /* of the keyword: end, else, or the if / with of an else if */
	size_t else_pos; /* of the else */
};

static int parse_list(struct parser *p, struct node **head, struct stop *stop);

static const char *const node_names[] = {"text", "action", "if", "with", "range"};

/* {{if|with|range pipeline}} list [{{else [if|with ...]}} list] {{end}};
 * p->pos is after the keyword. */
static int parse_control(struct parser *p, enum node_kind kind, size_t kw_pos, struct node **out)
{
	if (++p->depth > MAX_NESTING)
		return fail(p, kw_pos, "template nested too deeply");
	struct node *n = NEW(p, struct node);
	if (!n)
		return nomem(p->err);
	n->kind = kind;
	n->pos = kw_pos;
	struct pvar *outer = p->vars;
	int ctx = kind == NODE_IF ? CTX_IF : kind == NODE_WITH ? CTX_WITH : CTX_RANGE;
	int r = parse_pipe(p, ctx, kw_pos, &n->pipe);
	if (r < 0)
		return r;
	struct pvar *declared = p->vars;
	struct stop stop;
	if ((r = parse_list(p, &n->list, &stop)) < 0)
		return r;
	/* range binds its variables only while it iterates; if and with for
	 * both branches */
	p->vars = kind == NODE_RANGE ? outer : declared;
	switch (stop.kind) {
	case STOP_END:
		break;
	case STOP_ELSE_IF:
	case STOP_ELSE_WITH: {
		enum node_kind nested = stop.kind == STOP_ELSE_IF ? NODE_IF : NODE_WITH;
		if (nested != kind)
			return fail_hint(p, stop.pos,
					 "only {{if}} takes {{else if}}, and {{with}} {{else with}}",
					 "{{else %s}} inside {{%s}}", node_names[nested],
					 node_names[kind]);
		/* {{else if x}}...{{end}} is {{else}}{{if x}}...{{end}}{{end}} */
		if ((r = parse_control(p, nested, stop.pos, &n->else_list)) < 0)
			return r;
		break;
	}
	case STOP_ELSE: {
		struct stop stop2;
		if ((r = parse_list(p, &n->else_list, &stop2)) < 0)
			return r;
		if (stop2.kind == STOP_EOF)
			return fail(p, kw_pos, "missing {{end}} for {{%s}}", node_names[kind]);
		if (stop2.kind != STOP_END)
			return fail(p, stop2.else_pos, "unexpected {{else}} after {{else}}");
		break;
	}
	default:
		return fail(p, kw_pos, "missing {{end}} for {{%s}}", node_names[kind]);
	}
	p->vars = outer;
	p->depth--;
	*out = n;
	return 0;
}

/* One action; p->pos is after its {{ (and trim marker). Sets *out to a node,
 * or to NULL for a comment or a stop ({{end}}, {{else}}). */
static int parse_action(struct parser *p, struct node **out, struct stop *stop)
{
	*out = NULL;
	stop->kind = STOP_NONE;
	const char *s = p->src;
	size_t i = p->pos;
	while (i < p->len && is_space(s[i]))
		i++;
	if (p->len - i >= 2 && s[i] == '/' && s[i + 1] == '*') {
		const char *end = memmem(s + i + 2, p->len - i - 2, "*/", 2);
		if (!end)
			return fail(p, p->action_pos, "unclosed comment");
		size_t j = (size_t)(end - s) + 2, k = j;
		while (k < p->len && is_space(s[k]))
			k++;
		if (p->len - j >= 2 && s[j] == '}' && s[j + 1] == '}') {
			p->pos = j + 2;
			p->trim_next = false;
		} else if (k > j && p->len - k >= 3 && memcmp(s + k, "-}}", 3) == 0) {
			p->pos = k + 3;
			p->trim_next = true;
		} else {
			return fail(p, j, "comment ends before closing delimiter");
		}
		return 0;
	}
	size_t save = p->pos;
	struct token t;
	int r = lex(p, &t);
	if (r < 0)
		return r;
	const char *word = s + t.pos;
	if (t.kind == TK_CLOSE)
		return fail(p, p->action_pos, "empty action");
	if (t.kind == TK_IDENT && is_keyword(word, t.len)) {
		if (text_is(word, t.len, "end") || text_is(word, t.len, "else")) {
			bool is_end = word[1] == 'n';
			struct token t2;
			if ((r = lex(p, &t2)) < 0)
				return r;
			stop->pos = stop->else_pos = t.pos;
			if (t2.kind == TK_CLOSE) {
				stop->kind = is_end ? STOP_END : STOP_ELSE;
				return 0;
			}
			const char *w2 = s + t2.pos;
			if (!is_end && t2.kind == TK_IDENT &&
			    (text_is(w2, t2.len, "if") || text_is(w2, t2.len, "with"))) {
				stop->kind = w2[0] == 'i' ? STOP_ELSE_IF : STOP_ELSE_WITH;
				stop->pos = t2.pos;
				return 0;
			}
			return fail(p, t2.pos, "unexpected \"%.*s\" in {{%s}}", QLEN(t2.len), w2,
				    is_end ? "end" : "else");
		}
		if (text_is(word, t.len, "if"))
			return parse_control(p, NODE_IF, t.pos, out);
		if (text_is(word, t.len, "with"))
			return parse_control(p, NODE_WITH, t.pos, out);
		if (text_is(word, t.len, "range"))
			return parse_control(p, NODE_RANGE, t.pos, out);
		return fail(p, t.pos, "{{%.*s}} is not supported", (int)t.len, word);
	}
	p->pos = save;
	struct node *n = NEW(p, struct node);
	if (!n)
		return nomem(p->err);
	n->kind = NODE_ACTION;
	n->pos = p->action_pos;
	if ((r = parse_pipe(p, CTX_ACTION, p->action_pos, &n->pipe)) < 0)
		return r;
	*out = n;
	return 0;
}

/* Text and actions up to the end of the template or a {{end}} / {{else}}. */
static int parse_list(struct parser *p, struct node **head, struct stop *stop)
{
	struct node **tail = head;
	for (;;) {
		size_t start = p->pos;
		if (p->trim_next)
			while (start < p->len && is_space(p->src[start]))
				start++;
		p->trim_next = false;
		const char *open = memmem(p->src + start, p->len - start, "{{", 2);
		size_t at = open ? (size_t)(open - p->src) : p->len;
		bool ltrim = open && p->len - at >= 4 && open[2] == '-' && is_space(open[3]);
		size_t text_end = at;
		while (ltrim && text_end > start && is_space(p->src[text_end - 1]))
			text_end--;
		if (text_end > start) {
			struct node *n = NEW(p, struct node);
			if (!n)
				return nomem(p->err);
			*n = (struct node){.kind = NODE_TEXT, .pos = start, .text = p->src + start,
					   .len = text_end - start};
			*tail = n;
			tail = &n->next;
		}
		if (!open) {
			p->pos = p->len;
			*stop = (struct stop){STOP_EOF, p->len, p->len};
			return 0;
		}
		p->action_pos = at;
		p->pos = at + 2 + ltrim;
		struct node *n;
		int r = parse_action(p, &n, stop);
		if (r < 0)
			return r;
		if (stop->kind != STOP_NONE)
			return 0;
		if (n) {
			*tail = n;
			tail = &n->next;
		}
	}
}

static int parse_template(struct parser *p, struct node **root)
{
	int r = push_pvar(p, "$", 1);
	struct stop stop;
	if (r < 0 || (r = parse_list(p, root, &stop)) < 0)
		return r;
	if (stop.kind == STOP_END)
		return fail(p, stop.pos, "unexpected {{end}}");
	if (stop.kind != STOP_EOF)
		return fail(p, stop.else_pos, "unexpected {{else}}");
	return 0;
}

/* ---- values */

static json_t *ref(json_t *v) { return v ? json_incref(v) : NULL; }

static const char *type_name(const json_t *v)
{
	if (!v)
		return "<no value>";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

/* Go's truth: false, 0, "", null, no value and empty arrays and objects are false. */
static bool is_true(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_TRUE:
		return true;
	default:
		return false;
	}
}

struct entry {
	const char *key;
	size_t len;
	json_t *value;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* An object's members in Go's map order: keys sorted bytewise. */
static struct entry *sorted_entries(json_t *obj, size_t *n)
{
	size_t size = json_object_size(obj), i = 0;
	struct entry *e = calloc(size ? size : 1, sizeof(*e));
	if (!e)
		return NULL;
	for (void *it = json_object_iter(obj); it && i < size;
	     it = json_object_iter_next(obj, it), i++)
		e[i] = (struct entry){json_object_iter_key(it), json_object_iter_key_len(it),
				      json_object_iter_value(it)};
	qsort(e, i, sizeof(*e), entry_cmp);
	*n = i;
	return e;
}

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* ---- numbers as Go prints a float64 */

struct digits {
	char d[24];
	int nd, dp; /* value = 0.d[0..nd) x 10^dp; nd = 0 for zero */
};

/* The fewest digits that read back as a (finite, >= 0): what Go's strconv
 * gives for precision -1. */
static void shortest_digits(double a, struct digits *dg)
{
	*dg = (struct digits){0};
	if (a == 0)
		return;
	char tmp[48];
	for (int prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, a);
		if (strtod(tmp, NULL) == a)
			break;
	}
	const char *s = tmp;
	for (; *s && *s != 'e'; s++)
		if (is_digit(*s))
			dg->d[dg->nd++] = *s;
	while (dg->nd > 1 && dg->d[dg->nd - 1] == '0')
		dg->nd--;
	dg->dp = atoi(s + 1) + 1;
}

/* %e: d.ddde±dd (Go's JSON drops the exponent's leading zero: e-7) */
static void fmt_e(struct buf *b, const struct digits *dg, bool short_exp)
{
	buf_ch(b, dg->nd ? dg->d[0] : '0');
	if (dg->nd > 1) {
		buf_ch(b, '.');
		buf_add(b, dg->d + 1, (size_t)dg->nd - 1);
	}
	int exp = dg->nd ? dg->dp - 1 : 0;
	char tmp[16];
	int n = snprintf(tmp, sizeof(tmp), "e%c%0*d", exp < 0 ? '-' : '+', short_exp ? 1 : 2,
			 exp < 0 ? -exp : exp);
	buf_add(b, tmp, (size_t)n);
}

/* %f with just the digits needed */
static void fmt_f(struct buf *b, const struct digits *dg)
{
	if (dg->dp > 0)
		for (int i = 0; i < dg->dp; i++)
			buf_ch(b, i < dg->nd ? dg->d[i] : '0');
	else
		buf_ch(b, '0');
	if (dg->nd > dg->dp) {
		buf_ch(b, '.');
		for (int j = dg->dp; j < dg->nd; j++)
			buf_ch(b, j >= 0 ? dg->d[j] : '0');
	}
}

/* fmt's %v: strconv 'g' with the shortest digits, %e below 1e-4 and from 1e6 on */
static void fmt_float_v(struct buf *b, double f)
{
	struct digits dg;
	if (signbit(f))
		buf_ch(b, '-');
	shortest_digits(fabs(f), &dg);
	int exp = dg.dp - 1;
	if (dg.nd && (exp < -4 || exp >= 6))
		fmt_e(b, &dg, false);
	else
		fmt_f(b, &dg);
}

/* encoding/json: %f, but %e below 1e-6 and from 1e21 on */
static void fmt_float_json(struct buf *b, double f)
{
	struct digits dg;
	double a = fabs(f);
	if (signbit(f))
		buf_ch(b, '-');
	shortest_digits(a, &dg);
	if (a != 0 && (a < 1e-6 || a >= 1e21))
		fmt_e(b, &dg, true);
	else
		fmt_f(b, &dg);
}

/* ---- evaluation */

struct rvar {
	const char *name;
	size_t len;
	json_t *val;
};

struct exec {
	const char *src;
	struct rl_error *err;
	struct buf out;
	struct rvar *vars;
	size_t nvars, cap;
};

static int xfail(struct exec *x, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int xfail(struct exec *x, size_t pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfail_at(x->err, x->src, pos, NULL, fmt, ap);
	va_end(ap);
	return r;
}

/* Go's %v of an interface{} decoded from JSON; nil for no value. */
static int fmt_value(struct exec *x, size_t pos, struct buf *b, json_t *v, int depth)
{
	if (depth > MAX_VALUE_DEPTH)
		return xfail(x, pos, "value nested too deeply to print");
	if (!v) {
		buf_str(b, "<nil>");
		return 0;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n;
		_cleanup_free_ struct entry *e = sorted_entries(v, &n);
		if (!e)
			return nomem(x->err);
		buf_str(b, "map[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_ch(b, ' ');
			buf_add(b, e[i].key, e[i].len);
			buf_ch(b, ':');
			int r = fmt_value(x, pos, b, e[i].value, depth + 1);
			if (r < 0)
				return r;
		}
		buf_ch(b, ']');
		return 0;
	}
	case JSON_ARRAY: {
		buf_ch(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_ch(b, ' ');
			int r = fmt_value(x, pos, b, json_array_get(v, i), depth + 1);
			if (r < 0)
				return r;
		}
		buf_ch(b, ']');
		return 0;
	}
	case JSON_STRING:
		buf_add(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		buf_int(b, json_integer_value(v));
		return 0;
	case JSON_REAL:
		fmt_float_v(b, json_real_value(v));
		return 0;
	case JSON_TRUE:
		buf_str(b, "true");
		return 0;
	case JSON_FALSE:
		buf_str(b, "false");
		return 0;
	case JSON_NULL:
		buf_str(b, "<nil>");
		return 0;
	}
	return 0;
}

/* A JSON string as Go's encoder writes it with SetEscapeHTML(false). */
static void enc_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_ch(b, '"');
	size_t start = 0, i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		uint32_t cp = 0;
		size_t len = c < 0x80 ? 1 : utf8_len((const unsigned char *)s + i, n - i, &cp);
		if (c >= 0x80 && len && cp != 0x2028 && cp != 0x2029) {
			i += len;
			continue;
		}
		buf_add(b, s + start, i - start);
		char esc[8] = {'\\', 0};
		size_t elen = 2;
		if (c == '"' || c == '\\')
			esc[1] = (char)c;
		else if (c == '\b')
			esc[1] = 'b';
		else if (c == '\f')
			esc[1] = 'f';
		else if (c == '\n')
			esc[1] = 'n';
		else if (c == '\r')
			esc[1] = 'r';
		else if (c == '\t')
			esc[1] = 't';
		else if (c < 0x20)
			memcpy(esc + 1, (char[]){'u', '0', '0', hex[c >> 4], hex[c & 0xF]}, 5), elen = 6;
		else if (!len) /* invalid UTF-8 */
			memcpy(esc + 1, "ufffd", 5), elen = 6, len = 1;
		else /* U+2028, U+2029 */
			memcpy(esc + 1, (char[]){'u', '2', '0', '2', hex[cp & 0xF]}, 5), elen = 6;
		buf_add(b, esc, elen);
		i += len;
		start = i;
	}
	buf_add(b, s + start, i - start);
	buf_ch(b, '"');
}

/* Compact JSON as Docker's json function (encoding/json) writes it: keys sorted. */
static int enc_json(struct exec *x, size_t pos, struct buf *b, json_t *v, int depth)
{
	if (depth > MAX_VALUE_DEPTH)
		return xfail(x, pos, "value nested too deeply to print");
	if (!v) {
		buf_str(b, "null");
		return 0;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		size_t n;
		_cleanup_free_ struct entry *e = sorted_entries(v, &n);
		if (!e)
			return nomem(x->err);
		buf_ch(b, '{');
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_ch(b, ',');
			enc_string(b, e[i].key, e[i].len);
			buf_ch(b, ':');
			int r = enc_json(x, pos, b, e[i].value, depth + 1);
			if (r < 0)
				return r;
		}
		buf_ch(b, '}');
		return 0;
	}
	case JSON_ARRAY:
		buf_ch(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_ch(b, ',');
			int r = enc_json(x, pos, b, json_array_get(v, i), depth + 1);
			if (r < 0)
				return r;
		}
		buf_ch(b, ']');
		return 0;
	case JSON_STRING:
		enc_string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		buf_int(b, json_integer_value(v));
		return 0;
	case JSON_REAL:
		fmt_float_json(b, json_real_value(v));
		return 0;
	case JSON_TRUE:
		buf_str(b, "true");
		return 0;
	case JSON_FALSE:
		buf_str(b, "false");
		return 0;
	case JSON_NULL:
		buf_str(b, "null");
		return 0;
	}
	return 0;
}

/* Hands a built text out as a JSON string (bytes as they are). */
static int take_string(struct exec *x, struct buf *b, json_t **out)
{
	if (b->oom) {
		free(b->data);
		return nomem(x->err);
	}
	*out = json_stringn_nocheck(b->data ? b->data : "", b->len);
	free(b->data);
	return *out ? 0 : nomem(x->err);
}

static int push_var(struct exec *x, const char *name, size_t len, json_t *v)
{
	if (x->nvars == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		struct rvar *vars = realloc(x->vars, cap * sizeof(*vars));
		if (!vars)
			return nomem(x->err);
		x->vars = vars;
		x->cap = cap;
	}
	x->vars[x->nvars++] = (struct rvar){name, len, ref(v)};
	return 0;
}

static void pop_vars(struct exec *x, size_t mark)
{
	while (x->nvars > mark)
		json_decref(x->vars[--x->nvars].val);
}

static struct rvar *find_var(struct exec *x, const char *name, size_t len)
{
	for (size_t i = x->nvars; i-- > 0;)
		if (x->vars[i].len == len && memcmp(x->vars[i].name, name, len) == 0)
			return &x->vars[i];
	return NULL;
}

/* $x := v declares; $x = v changes the innermost $x. */
static int bind(struct exec *x, const struct decl *d, bool assign, json_t *v)
{
	if (!assign)
		return push_var(x, d->name, d->len, v);
	struct rvar *var = find_var(x, d->name, d->len);
	if (!var)
		return xfail(x, d->pos, "undefined variable \"%.*s\"", QLEN(d->len), d->name);
	json_decref(var->val);
	var->val = ref(v);
	return 0;
}

/* .A.B on *v, replacing it. A missing key gives no value, and fields of no
 * value are no value too, as in Go; fields of anything but an object fail. */
static int walk_fields(struct exec *x, const struct field *f, json_t **v)
{
	for (; f; f = f->next) {
		json_t *cur = *v;
		if (!cur)
			continue;
		if (!json_is_object(cur)) {
			int r = xfail(x, f->pos, "can't evaluate field %.*s in type %s",
				      QLEN(f->len), f->name, type_name(cur));
			*v = NULL;
			json_decref(cur);
			return r;
		}
		*v = ref(json_object_getn(cur, f->name, f->len));
		json_decref(cur);
	}
	return 0;
}

static int eval_pipe(struct exec *x, const struct pipe *p, json_t *dot, bool declare,
		     json_t **out);

static int eval_term(struct exec *x, const struct term *t, json_t *dot, json_t **out)
{
	json_t *v = NULL;
	int r = 0;
	switch (t->kind) {
	case TERM_DOT:
		v = ref(dot);
		break;
	case TERM_VAR: {
		struct rvar *var = find_var(x, t->var.name, t->var.len);
		if (!var)
			return xfail(x, t->pos, "undefined variable \"%.*s\"", QLEN(t->var.len),
				     t->var.name);
		v = ref(var->val);
		break;
	}
	case TERM_PIPE:
		r = eval_pipe(x, t->pipe, dot, false, &v);
		break;
	case TERM_STRING:
		if (!(v = json_stringn_nocheck(t->str.s, t->str.len)))
			return nomem(x->err);
		break;
	case TERM_INT:
		if (!(v = json_integer(t->i)))
			return nomem(x->err);
		break;
	case TERM_REAL:
		if (!(v = json_real(t->d)))
			return nomem(x->err);
		break;
	case TERM_BOOL:
		v = json_boolean(t->b);
		break;
	case TERM_NIL:
		v = json_null();
		break;
	case TERM_CALL:
		r = t->fn->call(x, t->pos, NULL, 0, &v);
		break;
	}
	if (r < 0)
		return r;
	if ((r = walk_fields(x, t->fields, &v)) < 0)
		return r;
	*out = v;
	return 0;
}

/* and / or: stop at the first false / true argument, which is the result */
static int eval_logic(struct exec *x, const struct cmd *c, json_t *dot, bool has_final,
		      json_t *final, json_t **out)
{
	size_t argc = c->nargs + has_final;
	const struct term *t = c->args;
	json_t *v = NULL;
	for (size_t i = 0; i < argc; i++) {
		json_decref(v);
		v = NULL;
		if (t) {
			int r = eval_term(x, t, dot, &v);
			if (r < 0)
				return r;
			t = t->next;
		} else {
			v = ref(final);
		}
		if (is_true(v) == (c->fn->lazy == LAZY_OR))
			break;
	}
	*out = v;
	return 0;
}

static int eval_cmd(struct exec *x, const struct cmd *c, json_t *dot, bool has_final,
		    json_t *final, json_t **out)
{
	json_t *v = NULL;
	int r;
	if (!c->fn) {
		r = eval_term(x, c->args, dot, &v);
	} else if (c->fn->lazy != EAGER) {
		r = eval_logic(x, c, dot, has_final, final, &v);
	} else {
		size_t argc = c->nargs + has_final, i = 0;
		_cleanup_free_ json_t **argv = calloc(argc ? argc : 1, sizeof(*argv));
		if (!argv)
			return nomem(x->err);
		r = 0;
		for (const struct term *t = c->args; t && r == 0; t = t->next)
			r = eval_term(x, t, dot, &argv[i++]);
		if (r == 0) {
			if (has_final)
				argv[i] = ref(final);
			r = c->fn->call(x, c->pos, argv, argc, &v);
		}
		for (i = 0; i < argc; i++)
			json_decref(argv[i]);
	}
	if (r < 0)
		return r;
	/* Go unwraps an interface{} result: a nil one becomes no value */
	if (json_is_null(v)) {
		json_decref(v);
		v = NULL;
	}
	*out = v;
	return 0;
}

static int eval_pipe(struct exec *x, const struct pipe *p, json_t *dot, bool declare,
		     json_t **out)
{
	json_t *v = NULL;
	bool has = false;
	for (const struct cmd *c = p->cmds; c; c = c->next) {
		json_t *next = NULL;
		int r = eval_cmd(x, c, dot, has, v, &next);
		json_decref(v);
		if (r < 0)
			return r;
		v = next;
		has = true;
	}
	if (declare && p->ndecl) {
		int r = bind(x, &p->decl[0], p->assign, v);
		if (r < 0) {
			json_decref(v);
			return r;
		}
	}
	*out = v;
	return 0;
}

static int exec_list(struct exec *x, const struct node *n, json_t *dot);

static int range_step(struct exec *x, const struct node *n, json_t *key, json_t *elem)
{
	size_t mark = x->nvars;
	const struct pipe *p = n->pipe;
	int r = 0;
	if (p->ndecl == 1)
		r = bind(x, &p->decl[0], p->assign, elem);
	else if (p->ndecl == 2 && (r = bind(x, &p->decl[0], p->assign, key)) == 0)
		r = bind(x, &p->decl[1], p->assign, elem);
	if (r == 0)
		r = exec_list(x, n->list, elem);
	pop_vars(x, mark);
	return r;
}

static int exec_range(struct exec *x, const struct node *n, json_t *dot)
{
	json_t *v = NULL;
	int r = eval_pipe(x, n->pipe, dot, false, &v);
	if (r < 0)
		return r;
	size_t count = 0;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && r == 0; i++, count++) {
			json_t *key = json_integer((json_int_t)i);
			r = key ? range_step(x, n, key, json_array_get(v, i)) : nomem(x->err);
			json_decref(key);
		}
	} else if (json_is_object(v)) {
		_cleanup_free_ struct entry *e = sorted_entries(v, &count);
		if (!e)
			r = nomem(x->err);
		for (size_t i = 0; e && i < count && r == 0; i++) {
			json_t *key = json_stringn_nocheck(e[i].key, e[i].len);
			r = key ? range_step(x, n, key, e[i].value) : nomem(x->err);
			json_decref(key);
		}
	} else if (v) {
		struct buf b = {0};
		r = fmt_value(x, n->pos, &b, v, 0);
		if (r == 0)
			r = xfail(x, n->pos, "range can't iterate over %.*s", MAX_QUOTE,
				  b.data ? b.data : "");
		free(b.data);
	}
	if (r == 0 && count == 0)
		r = exec_list(x, n->else_list, dot);
	json_decref(v);
	return r;
}

static int exec_node(struct exec *x, const struct node *n, json_t *dot)
{
	json_t *v = NULL;
	size_t mark = x->nvars;
	int r;
	switch (n->kind) {
	case NODE_TEXT:
		buf_add(&x->out, n->text, n->len);
		return 0;
	case NODE_ACTION:
		r = eval_pipe(x, n->pipe, dot, true, &v);
		if (r == 0 && !n->pipe->ndecl) {
			if (v)
				r = fmt_value(x, n->pos, &x->out, v, 0);
			else
				buf_str(&x->out, "<no value>");
		}
		json_decref(v);
		return r;
	case NODE_IF:
	case NODE_WITH:
		r = eval_pipe(x, n->pipe, dot, true, &v);
		if (r == 0 && is_true(v))
			r = exec_list(x, n->list, n->kind == NODE_WITH ? v : dot);
		else if (r == 0)
			r = exec_list(x, n->else_list, dot);
		json_decref(v);
		pop_vars(x, mark);
		return r;
	case NODE_RANGE:
		return exec_range(x, n, dot);
	}
	return 0;
}

static int exec_list(struct exec *x, const struct node *n, json_t *dot)
{
	for (; n; n = n->next) {
		int r = exec_node(x, n, dot);
		if (r < 0)
			return r;
		if (x->out.oom)
			return nomem(x->err);
	}
	return 0;
}

/* ---- the functions */

static int want_string(struct exec *x, size_t pos, const char *fn, const char *what, json_t *v)
{
	if (json_is_string(v))
		return 0;
	return xfail(x, pos, "%s: %s must be a string, got %s", fn, what, type_name(v));
}

static int fn_json(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)argc;
	struct buf b = {0};
	int r = enc_json(x, pos, &b, argv[0], 0);
	if (r < 0) {
		free(b.data);
		return r;
	}
	return take_string(x, &b, out);
}

static int fn_len(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)argc;
	json_t *v = argv[0];
	size_t n;
	if (json_is_array(v))
		n = json_array_size(v);
	else if (json_is_object(v))
		n = json_object_size(v);
	else if (json_is_string(v))
		n = json_string_length(v); /* bytes, as Go's len */
	else
		return xfail(x, pos, "len: expected an array, object or string, got %s",
			     type_name(v));
	*out = json_integer((json_int_t)n);
	return *out ? 0 : nomem(x->err);
}

/* index X K1 K2...: X[K1][K2]..., array and string positions, object keys */
static int fn_index(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	json_t *cur = argv[0], *owned = NULL;
	int r = 0;
	for (size_t i = 1; i < argc && r == 0; i++) {
		json_t *k = argv[i];
		if (json_is_object(cur)) {
			if (!json_is_string(k)) {
				r = xfail(x, pos, "index: an object's key must be a string, got %s",
					  type_name(k));
				break;
			}
			cur = json_object_getn(cur, json_string_value(k), json_string_length(k));
			continue;
		}
		if (!json_is_array(cur) && !json_is_string(cur)) {
			r = xfail(x, pos, "index: can't index %s", type_name(cur));
			break;
		}
		size_t size = json_is_array(cur) ? json_array_size(cur) : json_string_length(cur);
		if (!json_is_integer(k)) {
			r = xfail(x, pos, "index: a position must be an integer, got %s",
				  type_name(k));
			break;
		}
		json_int_t at = json_integer_value(k);
		if (at < 0 || (uint64_t)at >= size) {
			r = xfail(x, pos, "index: index out of range: %" JSON_INTEGER_FORMAT, at);
			break;
		}
		if (json_is_array(cur)) {
			cur = json_array_get(cur, (size_t)at);
			continue;
		}
		/* a string's byte, a number as in Go */
		json_t *byte = json_integer((unsigned char)json_string_value(cur)[at]);
		json_decref(owned);
		cur = owned = byte;
		if (!byte)
			r = nomem(x->err);
	}
	if (r == 0)
		*out = ref(cur);
	json_decref(owned);
	return r;
}

static int change_case(struct exec *x, size_t pos, json_t **argv, bool up, json_t **out)
{
	int r = want_string(x, pos, up ? "upper" : "lower", "the argument", argv[0]);
	if (r < 0)
		return r;
	struct buf b = {0};
	buf_add(&b, json_string_value(argv[0]), json_string_length(argv[0]));
	for (size_t i = 0; i < b.len; i++) {
		char c = b.data[i];
		if (up && c >= 'a' && c <= 'z')
			b.data[i] = (char)(c - 'a' + 'A');
		else if (!up && c >= 'A' && c <= 'Z')
			b.data[i] = (char)(c - 'A' + 'a');
	}
	return take_string(x, &b, out);
}

static int fn_upper(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)argc;
	return change_case(x, pos, argv, true, out);
}

static int fn_lower(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)argc;
	return change_case(x, pos, argv, false, out);
}

static int fn_join(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)argc;
	json_t *a = argv[0];
	if (!json_is_array(a))
		return xfail(x, pos, "join: expected an array of strings, got %s", type_name(a));
	int r = want_string(x, pos, "join", "the separator", argv[1]);
	if (r < 0)
		return r;
	struct buf b = {0};
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *e = json_array_get(a, i);
		if (!json_is_string(e)) {
			free(b.data);
			return xfail(x, pos, "join: element %zu is %s, not a string", i,
				     type_name(e));
		}
		if (i)
			buf_add(&b, json_string_value(argv[1]), json_string_length(argv[1]));
		buf_add(&b, json_string_value(e), json_string_length(e));
	}
	return take_string(x, &b, out);
}

/* strings.Split: "" splits into characters; no separator found gives [s] */
static int fn_split(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)argc;
	int r = want_string(x, pos, "split", "the string", argv[0]);
	if (r == 0)
		r = want_string(x, pos, "split", "the separator", argv[1]);
	if (r < 0)
		return r;
	const char *s = json_string_value(argv[0]), *sep = json_string_value(argv[1]);
	size_t n = json_string_length(argv[0]), seplen = json_string_length(argv[1]);
	json_t *a = json_array();
	if (!a)
		return nomem(x->err);
	size_t start = 0;
	for (size_t i = 0; seplen ? i + seplen <= n : i < n;) {
		size_t len = 0;
		if (!seplen) {
			uint32_t cp;
			len = utf8_len((const unsigned char *)s + i, n - i, &cp);
			len = len ? len : 1;
		} else if (memcmp(s + i, sep, seplen) != 0) {
			i++;
			continue;
		}
		size_t piece_end = seplen ? i : i + len;
		if (json_array_append_new(a, json_stringn_nocheck(s + start, piece_end - start)) < 0)
			goto oom;
		i += seplen ? seplen : len;
		start = i;
	}
	if (seplen && json_array_append_new(a, json_stringn_nocheck(s + start, n - start)) < 0)
		goto oom;
	*out = a;
	return 0;
oom:
	json_decref(a);
	return nomem(x->err);
}

/* fmt.Sprint: spaces between operands when neither is a string;
 * fmt.Sprintln: spaces always, and a newline. No value prints <nil>. */
static int do_print(struct exec *x, size_t pos, json_t **argv, size_t argc, bool ln,
		    json_t **out)
{
	struct buf b = {0};
	for (size_t i = 0; i < argc; i++) {
		bool str = json_is_string(argv[i]);
		if (i > 0 && (ln || (!str && !json_is_string(argv[i - 1]))))
			buf_ch(&b, ' ');
		int r = fmt_value(x, pos, &b, argv[i], 0);
		if (r < 0) {
			free(b.data);
			return r;
		}
	}
	if (ln)
		buf_ch(&b, '\n');
	return take_string(x, &b, out);
}

static int fn_print(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	return do_print(x, pos, argv, argc, false, out);
}

static int fn_println(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	return do_print(x, pos, argv, argc, true, out);
}

static int fn_not(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	(void)x, (void)pos, (void)argc;
	*out = json_boolean(!is_true(argv[0]));
	return 0;
}

enum cmp_class { CMP_NIL, CMP_BOOL, CMP_NUMBER, CMP_STRING, CMP_OTHER };

static enum cmp_class cmp_class(const json_t *v)
{
	if (!v || json_is_null(v))
		return CMP_NIL;
	if (json_is_boolean(v))
		return CMP_BOOL;
	if (json_is_number(v))
		return CMP_NUMBER;
	if (json_is_string(v))
		return CMP_STRING;
	return CMP_OTHER;
}

/* *res <0, 0, >0 (for eq/ne only "equal or not"). Numbers compare by value
 * whether integer or real; strings bytewise. */
static int compare(struct exec *x, size_t pos, const char *fn, json_t *a, json_t *b, bool order,
		   int *res)
{
	enum cmp_class ca = cmp_class(a), cb = cmp_class(b);
	if (ca == CMP_OTHER || cb == CMP_OTHER)
		return xfail(x, pos, "%s: can't compare %s", fn, type_name(ca == CMP_OTHER ? a : b));
	if (order && (ca == CMP_NIL || ca == CMP_BOOL || cb == CMP_NIL || cb == CMP_BOOL))
		return xfail(x, pos, "%s: can't order %s", fn,
			     type_name(ca == CMP_NIL || ca == CMP_BOOL ? a : b));
	if (ca == CMP_NIL || cb == CMP_NIL) {
		*res = ca != cb;
		return 0;
	}
	if (ca != cb)
		return xfail(x, pos, "%s: incompatible types for comparison: %s and %s", fn,
			     type_name(a), type_name(b));
	switch (ca) {
	case CMP_BOOL:
		*res = json_is_true(a) != json_is_true(b);
		break;
	case CMP_STRING: {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		*res = c ? c : (la > lb) - (la < lb);
		break;
	}
	default:
		if (json_is_integer(a) && json_is_integer(b)) {
			json_int_t ia = json_integer_value(a), ib = json_integer_value(b);
			*res = (ia > ib) - (ia < ib);
		} else {
			double da = json_number_value(a), db = json_number_value(b);
			*res = (da > db) - (da < db);
		}
	}
	return 0;
}

/* eq a b c...: a equals any of the others */
static int fn_eq(struct exec *x, size_t pos, json_t **argv, size_t argc, json_t **out)
{
	bool eq = false;
	for (size_t i = 1; i < argc && !eq; i++) {
		int res, r = compare(x, pos, "eq", argv[0], argv[i], false, &res);
		if (r < 0)
			return r;
		eq = res == 0;
	}
	*out = json_boolean(eq);
	return 0;
}

enum order_op { OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

static int order(struct exec *x, size_t pos, json_t **argv, enum order_op op, json_t **out)
{
	static const char *const names[] = {"ne", "lt", "le", "gt", "ge"};
	int res, r = compare(x, pos, names[op], argv[0], argv[1], op != OP_NE, &res);
	if (r < 0)
		return r;
	bool v = op == OP_NE ? res != 0
		 : op == OP_LT ? res < 0
		 : op == OP_LE ? res <= 0
		 : op == OP_GT ? res > 0
			       : res >= 0;
	*out = json_boolean(v);
	return 0;
}

#define ORDER_FN(name, op)                                                                   \
	static int fn_##name(struct exec *x, size_t pos, json_t **argv, size_t argc,         \
			     json_t **out)                                                   \
	{                                                                                    \
		(void)argc;                                                                  \
		return order(x, pos, argv, op, out);                                         \
	}
ORDER_FN(ne, OP_NE)
ORDER_FN(lt, OP_LT)
ORDER_FN(le, OP_LE)
ORDER_FN(gt, OP_GT)
ORDER_FN(ge, OP_GE)

static const struct func funcs[] = {
	{"and", 1, -1, NULL, LAZY_AND},   {"eq", 2, -1, fn_eq, EAGER},
	{"ge", 2, 2, fn_ge, EAGER},       {"gt", 2, 2, fn_gt, EAGER},
	{"index", 1, -1, fn_index, EAGER}, {"join", 2, 2, fn_join, EAGER},
	{"json", 1, 1, fn_json, EAGER},   {"le", 2, 2, fn_le, EAGER},
	{"len", 1, 1, fn_len, EAGER},     {"lower", 1, 1, fn_lower, EAGER},
	{"lt", 2, 2, fn_lt, EAGER},       {"ne", 2, 2, fn_ne, EAGER},
	{"not", 1, 1, fn_not, EAGER},     {"or", 1, -1, NULL, LAZY_OR},
	{"print", 0, -1, fn_print, EAGER}, {"println", 0, -1, fn_println, EAGER},
	{"split", 2, 2, fn_split, EAGER}, {"upper", 1, 1, fn_upper, EAGER},
};

static const struct func *find_func(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (text_is(name, len, funcs[i].name))
			return &funcs[i];
	return NULL;
}

static void list_funcs(char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]) && n < size; i++) {
		int w = snprintf(out + n, size - n, "%s%s", i ? " " : "", funcs[i].name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* ---- entry point */

int rl_template_render(const char *tmpl, json_t *doc, char **out, struct rl_error *err)
{
	if (out)
		*out = NULL;
	if (!tmpl || !out)
		return rl_fail(err, EINVAL, "template: no template or output given");
	struct arena arena = {0};
	struct parser p = {.src = tmpl, .len = strlen(tmpl), .arena = &arena, .err = err};
	struct node *root = NULL;
	int r = parse_template(&p, &root);
	if (r < 0) {
		arena_free(&arena);
		return r;
	}
	struct exec x = {.src = tmpl, .err = err};
	r = push_var(&x, "$", 1, doc);
	if (r == 0)
		r = exec_list(&x, root, doc);
	pop_vars(&x, 0);
	free(x.vars);
	arena_free(&arena);
	if (r == 0 && x.out.oom)
		r = nomem(err);
	if (r < 0) {
		free(x.out.data);
		return r;
	}
	*out = x.out.data ? x.out.data : strdup("");
	return *out ? 0 : nomem(err);
}
